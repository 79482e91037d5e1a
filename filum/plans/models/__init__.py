"""Models of the plans app: the canton's provider catalogue with its places (I2) and the
integration plan of a dossier with its goals and measures (I1, I3, I6)."""

from filum.plans.models.catalogue import (
    Booking,
    BookingStatus,
    Category,
    Period,
    Programme,
    Provider,
    ProviderKind,
)
from filum.plans.models.plan import (
    GOAL_KEYS,
    AbortReason,
    DocumentKind,
    GoalKind,
    GoalStatus,
    Measure,
    MeasureDocument,
    MeasureGoal,
    MeasureResult,
    MeasureStatus,
    Plan,
    PlanGoal,
    PlanTemplate,
    goal_kind,
    goal_label,
)

__all__ = [
    "GOAL_KEYS",
    "AbortReason",
    "Booking",
    "BookingStatus",
    "Category",
    "DocumentKind",
    "GoalKind",
    "GoalStatus",
    "Measure",
    "MeasureDocument",
    "MeasureGoal",
    "MeasureResult",
    "MeasureStatus",
    "Period",
    "Plan",
    "PlanGoal",
    "PlanTemplate",
    "Programme",
    "Provider",
    "ProviderKind",
    "goal_kind",
    "goal_label",
]
