"""The shipped validation set: big enough, balanced as documented, every span and label right."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from alignsim.analysis.annotate.families import classify_claim, family
from alignsim.analysis.annotate.schema import LABELS, PA_CATEGORIES, Statement, StatementAnnotation
from alignsim.analysis.annotate.validate import claim_key, load_rows, validation_path
from tests.analysis.annotate import build_validation


@pytest.fixture(scope="module")
def raw_rows() -> list[dict]:
    with validation_path().open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def rows():
    return load_rows()


def test_the_shipped_file_is_what_the_generator_writes(raw_rows):
    # Spans are computed from the evidence substrings in the generator (which asserts each one),
    # so the shipped file must be exactly its output: no hand-edited offsets.
    assert build_validation.build() == raw_rows


def test_at_least_300_statements_that_load_as_statements(rows, raw_rows):
    assert len(rows) >= 300
    assert all(isinstance(r.statement, Statement) for r in rows)
    assert len({r.id for r in rows}) == len(rows)
    assert len({r.statement.text for r in rows}) == len(rows)
    for row in rows:
        assert row.statement.context.strip(), row.id
        assert row.statement.speaker in row.statement.players, row.id


def test_every_span_is_inside_its_text_and_trimmed(rows):
    for row in rows:
        for claim in row.claims:
            evidence = row.statement.text[claim.start : claim.end]
            assert evidence, row.id
            assert evidence == evidence.strip(), (row.id, evidence)
            assert claim.subject in row.statement.players, row.id


def test_families_and_kinds_are_covered(rows):
    families = Counter(r.family for r in rows)
    assert families["traitors"] >= 90
    assert families["werewolf"] >= 90
    assert families["principal_agent"] >= 80
    assert families["self_evolution"] >= 30
    kinds = Counter(r.statement.kind for r in rows)
    assert kinds["speech"] >= 180 and kinds["explanation"] >= 60 and kinds["pitch"] >= 12 and kinds["note"] >= 30


def test_balanced_over_labels_styles_and_categories(rows):
    labels = Counter(c.label for r in rows for c in r.claims)
    for label in LABELS:
        assert labels[label] >= 45, labels
    for name in ("traitors", "werewolf"):
        per = Counter(c.label for r in rows if r.family == name for c in r.claims)
        assert per["lie"] >= 30 and per["honest_error"] >= 20 and per["truthful"] >= 60, (name, per)
        evasive = sum(bool(r.evasive) for r in rows if r.family == name)
        assert evasive >= 15, name
    tags = Counter(t for r in rows for t in r.tags)
    wanted = {
        "accusation-without-role-word": 35,
        "vouch-without-role-word": 10,
        "sarcasm": 20,
        "hedge": 30,
        "negation": 40,
        "multi-claim": 80,
        "evasion": 50,
        "typo": 20,
        "evidence-claim": 15,
        "protection-claim": 8,
        "fake-seer-claim": 5,
        "no-claim": 40,
    }
    for tag, least in wanted.items():
        assert tags[tag] >= least, (tag, tags[tag])
    categories = Counter(r.category for r in rows if r.category is not None)
    assert all(categories[c] >= 20 for c in PA_CATEGORIES), categories


def test_gold_labels_are_what_alignsim_classify_gives(rows):
    # The set and the ledger must agree on what a label means: classify on the gold claims
    # gives the gold labels, and the PA category hook on the gold claims the gold category.
    for row in rows:
        hooks = family(row.family)
        for claim in row.claims:
            got = hooks.label(claim.claim(), row.truth) if hooks else classify_claim(claim.claim(), row.truth)
            assert got == claim.label, (row.id, claim)
        if row.category is not None:
            gold = StatementAnnotation(claims=tuple(c.claim() for c in row.claims))
            assert hooks is not None and hooks.category is not None
            assert hooks.category(gold, row.truth) == row.category, row.id


def test_gold_evasion_follows_the_documented_definition(rows):
    for row in rows:
        if row.family in ("traitors", "werewolf"):
            about_others = any(c.subject != row.statement.speaker and c.predicate != "other" for c in row.claims)
            assert row.evasive is not None
            if row.evasive:
                assert not about_others, row.id
        elif row.family == "principal_agent":
            assert row.evasive == (row.category == "evasive"), row.id
        else:
            assert row.evasive is None, row.id


def test_gold_claims_are_distinct_propositions(rows):
    for row in rows:
        keys = [claim_key(c.claim(), row.truth) for c in row.claims]
        keys = [k for k in keys if k is not None]
        assert len(keys) == len(set(keys)), row.id


def test_the_truth_has_the_shape_classify_reads(rows):
    for row in rows:
        assert set(row.truth) == {"roles", "sides", "known", "inspections", "protections", "decisive"}, row.id
        assert row.statement.speaker in row.truth["known"] or not row.truth["roles"], row.id
