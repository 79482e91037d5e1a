"""Reasons the system wrote as text (in the language of whoever acted) become a key and
parameters, rendered in the reader's language; reasons people typed stay as typed.

Recognised: closures (the exit reason code was stored as the reason; a typed note stays),
shares ("Org: journal, plan (write)"), transfers to counselling ("Segment B, to Name" in
English, French or German) and transfers ("To/À/An Name"). Anything else is left alone."""

from django.db import migrations

FORWARD = [
    # closure: the exit reason comes from the dossier; a typed note stays as the reason
    """
    UPDATE cases_casetransition t
       SET reason_key = 'closed',
           reason_params = jsonb_build_object('reason', c.closure_reason),
           reason = CASE WHEN t.reason = c.closure_reason THEN '' ELSE t.reason END
      FROM cases_case c
     WHERE c.id = t.case_id AND t.kind = 'closed' AND t.reason_key = ''
       AND c.closure_reason <> ''
    """,
    r"""
    UPDATE cases_casetransition t
       SET reason_key = 'shared', reason = '',
           reason_params = jsonb_build_object(
               'organisation', x.m[1],
               'sections', to_jsonb(string_to_array(x.m[2], ', ')),
               'access', x.m[3])
      FROM (SELECT id,
                   regexp_match(reason, '^(.*): ([a-z_]+(?:, [a-z_]+)*) \((read|write)\)$') AS m
              FROM cases_casetransition WHERE kind = 'shared' AND reason_key = '') x
     WHERE x.id = t.id AND x.m IS NOT NULL
    """,
    r"""
    UPDATE cases_casetransition t
       SET reason_key = 'transferred_to_counselling', reason = '',
           reason_params = jsonb_build_object('segment', x.m[1], 'worker', x.m[2])
      FROM (SELECT id, regexp_match(reason, '^Segment ([ABC]), (?:to|à|an) (.+)$') AS m
              FROM cases_casetransition
             WHERE kind = 'transferred_to_counselling' AND reason_key = '') x
     WHERE x.id = t.id AND x.m IS NOT NULL
    """,
    r"""
    UPDATE cases_casetransition t
       SET reason_key = 'transferred', reason = '',
           reason_params = jsonb_build_object('worker', x.m[1])
      FROM (SELECT id, regexp_match(reason, '^(?:To|À|An) (.+)$') AS m
              FROM cases_casetransition WHERE kind = 'transferred' AND reason_key = '') x
     WHERE x.id = t.id AND x.m IS NOT NULL
    """,
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_transition_reason_key"),
    ]

    operations = [migrations.RunSQL(sql, migrations.RunSQL.noop) for sql in FORWARD]
