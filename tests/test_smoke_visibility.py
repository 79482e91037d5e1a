from filum.cases.models import Case
from tests import factories


def test_p2_case_visible_only_to_owner_until_shared(world):
    worker, outsider, partner = world.worker.actor, world.outsider.actor, world.partner.actor
    assert list(Case.objects.visible_to(worker)) == [world.case]
    assert list(Case.objects.visible_to(outsider)) == [world.other_case]
    assert list(Case.objects.visible_to(partner, section="journal")) == []
    factories.ShareFactory(case=world.case, organisation=world.partner_org, sections=["journal"])
    assert list(Case.objects.visible_to(partner, section="journal")) == [world.case]
    assert list(Case.objects.visible_to(partner, section="core")) == []
    assert list(Case.objects.visible_to(partner, section="journal", write=True)) == []
