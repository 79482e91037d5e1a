"""Titles the rules and the four-eyes decisions wrote as text (in the worker's language)
become a key and parameters, rendered in the reader's language. Rule tasks are recognised by
their kind and rule key (the deadline and segment are in the key); decision tasks by their
proposal. Titles people typed (manual tasks) stay as typed; the old descriptions stay too,
since the finding they were written from is not recorded."""

from django.db import migrations

FORWARD = [
    """
    UPDATE followup_task
       SET title_key = 'rule.' || kind, title = '',
           title_params = jsonb_build_object('due', to_char(due_on, 'YYYY-MM-DD'))
               || CASE kind
                    WHEN 'review_due' THEN jsonb_build_object('segment', split_part(rule_key, ':', 2))
                    WHEN 'intake_overdue' THEN jsonb_build_object('stage', split_part(rule_key, ':', 2))
                    ELSE '{}'::jsonb
                  END
     WHERE rule_key <> '' AND title_key = ''
       AND kind IN ('review_due', 'decision_due', 'no_contact', 'intake_overdue')
    """,
    """
    UPDATE followup_task t
       SET title_key = 'proposal.decide', title = '',
           title_params = jsonb_build_object('segment', p.segment, 'proposal', p.kind)
      FROM cases_segmentproposal p
     WHERE t.kind = 'segment_decision' AND t.title_key = ''
       AND t.rule_key = 'proposal:' || p.id::text
    """,
]
# Going back, a keyed task keeps its key as its title (the columns are dropped next).
BACKWARD = "UPDATE followup_task SET title = title_key WHERE title = ''"


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_transition_reasons_to_keys"),
        ("followup", "0004_task_title_key"),
    ]

    operations = [
        migrations.RunSQL(FORWARD[0], BACKWARD),
        migrations.RunSQL(FORWARD[1], migrations.RunSQL.noop),
    ]
