"""The goals of an integration plan, exactly as the CaseNet seed lists them (I6, D8).

The ultimate goal is socio-professional reinsertion; the intermediate goals concern the
client (the cross-institution goals are taken into account within them); the
cross-institution goals concern the collaboration between the institutions. Stored values
are these keys; the words are rendered in the reader's language."""

from django.db import models
from django.utils.translation import gettext_lazy as _

ULTIMATE_GOAL = _("Socio-professional reinsertion")


class IntermediateGoal(models.TextChoices):
    ASSESSMENT = (
        "assessment",
        _(
            "Assessing the situation (capacity to work, resources, readiness for reinsertion, "
            "obstacles)"
        ),
    )
    CLARIFICATION = (
        "clarification",
        _(
            "Clarifying the situation (health problem, activity rate accepted by all, "
            "professional targets)"
        ),
    )
    HEALTH = "health", _("Health stabilisation (physical or psychological)")
    SOCIAL_FINANCIAL = "social_financial", _("Social and financial stabilisation")
    MOBILISATION = "mobilisation", _("Mobilising the client (physical or psychological)")
    ORIENTATION = (
        "orientation",
        _("Vocational orientation (skills review, choosing and setting up a training)"),
    )
    JOB_SEARCH = "job_search", _("Better job search (review, complete application file, coaching)")
    EMPLOYABILITY = (
        "employability",
        _("Better employability (work placement, retraining, updating professional knowledge)"),
    )
    JOB_RETENTION = (
        "job_retention",
        _("Keeping the job (adapting the workplace, individual support, coaching)"),
    )
    LABOUR_MARKET = "labour_market", _("Reinsertion in the first labour market")


class CrossInstitutionGoal(models.TextChoices):
    CLIENT_AGREEMENT = (
        "client_agreement",
        _("Agreement between the client and the institutions (on goals and ways of reinsertion)"),
    )
    PARTNER_AGREEMENT = (
        "partner_agreement",
        _(
            "Agreement between the institutions and other partners such as doctors (on goals and "
            "ways of reinsertion)"
        ),
    )
    COORDINATION = "coordination", _("Coordinating the partners' actions")
    HARMONISING = "harmonising", _("Harmonising differing views between the institutions")
