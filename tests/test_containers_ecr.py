"""labs.containers.ecr: lifecycle policy validation and preview, and ECR on the emulator."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from labs.containers import checks, ecr, image
from labs.errors import CheckFailed, InputError, LabsError

NOW = pd.Timestamp("2026-02-01T12:00:00Z")
DAY = pd.Timedelta(days=1)


def digest(n: int) -> str:
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


def frame(*images: tuple[str, float]) -> pd.DataFrame:
    """Images as (comma-separated tags, days before NOW); digests 0, 1, 2… in order."""
    return pd.DataFrame(
        {
            "digest": [digest(i) for i in range(len(images))],
            "tags": [tags for tags, _ in images],
            "pushed_at": [NOW - pd.Timedelta(days=days) for _, days in images],
        }
    )


def rule(priority: int, status: str, count_type: str, number: int, **extra: Any) -> dict:
    selection: dict[str, Any] = {"tagStatus": status, "countType": count_type}
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    selection["countNumber"] = number
    selection.update(extra)
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


def expired(policy: dict, images: pd.DataFrame) -> set[str]:
    preview = ecr.lifecycle_preview(policy, images, now=NOW)
    return set(preview.loc[preview["action"] == "expire", "tags"])


# --------------------------------------------------------------------------------------------
# Preview: each rule kind
# --------------------------------------------------------------------------------------------


def test_image_count_more_than_keeps_the_newest() -> None:
    images = frame(("r-1", 5), ("r-2", 4), ("r-3", 3), ("r-4", 2))
    policy = {"rules": [rule(1, "tagged", "imageCountMoreThan", 2, tagPrefixList=["r-"])]}
    preview = ecr.lifecycle_preview(policy, images, now=NOW)
    assert preview["tags"].tolist() == ["r-4", "r-3", "r-2", "r-1"]  # newest first
    assert preview["action"].tolist() == ["keep", "keep", "expire", "expire"]
    assert preview["rule"].tolist() == [1, 1, 1, 1]
    assert preview["reason"][2] == "rule 1: #3 newest of 4 r-… images (keeps 2)"
    assert preview["reason"][0] == "rule 1 keeps it: #1 newest of 4 r-… images (keeps 2)"
    assert list(preview.columns) == ecr.PREVIEW_COLUMNS


def test_since_image_pushed_expires_what_is_older_than_the_limit() -> None:
    images = frame(("", 3.0), ("", 1.0), ("", 1.0001), ("", 0.5))
    policy = {"rules": [rule(1, "untagged", "sinceImagePushed", 1)]}
    preview = ecr.lifecycle_preview(policy, images, now=NOW).set_index("digest")
    assert preview.loc[digest(0), "action"] == "expire"
    assert preview.loc[digest(1), "action"] == "keep"  # exactly 1 day: not *more than* 1
    assert preview.loc[digest(2), "action"] == "expire"
    assert preview.loc[digest(3), "action"] == "keep"
    assert preview.loc[digest(0), "reason"] == (
        "rule 1: untagged image pushed 3.0 days ago (limit 1 day)"
    )
    assert preview.loc[digest(0), "age_days"] == 3.0


def test_tag_status_selects_tagged_untagged_or_any() -> None:
    images = frame(("a", 4), ("", 3), ("b", 2))
    untagged = {"rules": [rule(1, "untagged", "imageCountMoreThan", 1)]}
    assert ecr.lifecycle_preview(untagged, images, now=NOW)["action"].tolist() == ["keep"] * 3
    every = {"rules": [rule(1, "any", "imageCountMoreThan", 1)]}
    assert expired(every, images) == {"", "a"}
    tagged = {"rules": [rule(1, "tagged", "imageCountMoreThan", 1, tagPatternList=["*"])]}
    assert expired(tagged, images) == {"a"}


def test_prefix_lists_need_every_prefix_on_some_tag() -> None:
    images = frame(("prod-1, beta-1", 9), ("prod-2", 8), ("beta-3", 7), ("prod-4, beta-4", 1))
    both = {"rules": [rule(1, "tagged", "sinceImagePushed", 5, tagPrefixList=["prod", "beta"])]}
    assert expired(both, images) == {"prod-1, beta-1"}


@pytest.mark.parametrize(
    ("pattern", "selected"),
    [
        ("release-*", {"release-1.0", "release-1.0-rc1"}),
        ("release-*-rc*", {"release-1.0-rc1"}),
        ("*-rc1", {"release-1.0-rc1"}),
        ("release-1.0", {"release-1.0"}),  # no wildcard: the whole tag
        ("release.1*", set()),  # the dot is a dot, not "any character"
    ],
)
def test_pattern_lists_use_star_wildcards_over_the_whole_tag(pattern: str, selected: set) -> None:
    images = frame(("release-1.0", 9), ("release-1.0-rc1", 8), ("dev-release-1", 7))
    policy = {"rules": [rule(1, "tagged", "sinceImagePushed", 1, tagPatternList=[pattern])]}
    assert expired(policy, images) == selected


def test_images_no_rule_selects_are_kept_without_a_rule() -> None:
    images = frame(("dev-1", 30), ("", 30))
    policy = {"rules": [rule(1, "tagged", "sinceImagePushed", 1, tagPrefixList=["release"])]}
    preview = ecr.lifecycle_preview(policy, images, now=NOW)
    assert preview["action"].tolist() == ["keep", "keep"]
    assert preview["rule"].isna().all()
    assert set(preview["reason"]) == {"no rule selects it"}


# --------------------------------------------------------------------------------------------
# Preview: priorities and the interplay of rules
# --------------------------------------------------------------------------------------------

EXAMPLE_A = frame(("beta-1, prod-1", 10), ("beta-2, prod-2", 9), ("beta-3", 8))


@pytest.mark.parametrize(
    "selection",
    [
        ({"tagPrefixList": ["prod"]}, {"tagPrefixList": ["beta"]}),
        ({"tagPatternList": ["prod*"]}, {"tagPatternList": ["beta*"]}),
    ],
)
def test_the_documented_example_a_expires_only_image_a(selection: tuple[dict, dict]) -> None:
    """ECR User Guide, lifecycle_policy_examples.html, "Filtering on multiple rules", Example A."""
    policy = {
        "rules": [
            rule(1, "tagged", "imageCountMoreThan", 1, **selection[0]),
            rule(2, "tagged", "imageCountMoreThan", 1, **selection[1]),
        ]
    }
    preview = ecr.lifecycle_preview(policy, EXAMPLE_A, now=NOW).set_index("tags")
    assert preview["action"].to_dict() == {
        "beta-3": "keep",
        "beta-2, prod-2": "keep",
        "beta-1, prod-1": "expire",
    }
    # Image B: rule 2 would expire it, but rule 1 selected it first (and kept it).
    assert preview.loc["beta-2, prod-2", "rule"] == 1
    assert preview.loc["beta-2, prod-2", "reason"].endswith(
        "rule 2 would expire it, but rule 1 came first"
    )
    assert preview.loc["beta-1, prod-1", "rule"] == 1  # expired by one rule only


def test_rules_apply_in_priority_order_whatever_their_order_in_the_list() -> None:
    images = frame(("release-1", 40), ("release-2", 30), ("dev-1", 20))
    keep_releases = rule(10, "tagged", "imageCountMoreThan", 99, tagPrefixList=["release"])
    trim_all = rule(20, "any", "sinceImagePushed", 7)
    assert expired({"rules": [trim_all, keep_releases]}, images) == {"dev-1"}
    assert expired({"rules": [keep_releases, trim_all]}, images) == {"dev-1"}


def test_an_any_rule_counts_images_earlier_rules_selected_but_cannot_expire_them() -> None:
    images = frame(("", 5), ("old", 4), ("dev-1", 2), ("dev-2", 1))
    policy = {
        "rules": [
            rule(1, "tagged", "imageCountMoreThan", 5, tagPrefixList=["dev"]),
            rule(2, "any", "imageCountMoreThan", 2),
        ]
    }
    preview = ecr.lifecycle_preview(policy, images, now=NOW).set_index("tags")
    # the two dev images fill rule 2's two places: the older two expire under rule 2
    assert preview["action"].to_dict() == {
        "dev-2": "keep",
        "dev-1": "keep",
        "old": "expire",
        "": "expire",
    }
    assert preview.loc["old", "reason"] == "rule 2: #3 newest of 4 images (keeps 2)"
    assert preview.loc["dev-1", "rule"] == 1


def test_an_image_expired_by_an_earlier_rule_still_counts_for_a_later_one() -> None:
    images = frame(("x-1", 3), ("x-2", 2), ("x-3", 1))
    policy = {
        "rules": [
            rule(1, "tagged", "sinceImagePushed", 2, tagPrefixList=["x-1"]),
            rule(2, "tagged", "imageCountMoreThan", 1, tagPrefixList=["x-"]),
        ]
    }
    preview = ecr.lifecycle_preview(policy, images, now=NOW).set_index("tags")
    assert preview.loc["x-1", "rule"] == 1 and preview.loc["x-1", "action"] == "expire"
    assert preview.loc["x-2", "reason"] == "rule 2: #2 newest of 3 x-… images (keeps 1)"


# --------------------------------------------------------------------------------------------
# Preview: inputs
# --------------------------------------------------------------------------------------------


def test_preview_reads_describe_images_output_and_json_policies() -> None:
    details = {
        "imageDetails": [
            {
                "imageDigest": digest(0),
                "imageTags": ["v1"],
                "imagePushedAt": NOW - pd.Timedelta(days=3),
            },
            {
                "imageDigest": digest(1),
                "imagePushedAt": (NOW - pd.Timedelta(days=2)).to_pydatetime(),
            },
        ]
    }
    policy = json.dumps({"rules": [rule(1, "untagged", "sinceImagePushed", 1)]})
    preview = ecr.lifecycle_preview(policy, details, now="2026-02-01 12:00")
    assert preview["tags"].tolist() == ["", "v1"]
    assert preview["action"].tolist() == ["expire", "keep"]
    listed = ecr.lifecycle_preview(policy, details["imageDetails"], now=NOW)
    assert listed.equals(preview)


def test_preview_accepts_tag_lists_and_naive_times() -> None:
    images = pd.DataFrame(
        {
            "digest": [digest(0), digest(1)],
            "tags": [["a", "b"], None],
            "pushed_at": ["2026-01-01 00:00", "2026-01-31 00:00"],
        }
    )
    preview = ecr.lifecycle_preview(
        {"rules": [rule(1, "any", "sinceImagePushed", 10)]}, images, now="2026-02-01"
    )
    assert preview["tags"].tolist() == ["", "a, b"]
    assert str(preview["pushed_at"].dt.tz) == "UTC"


@pytest.mark.parametrize(
    ("images", "where", "words"),
    [
        (pd.DataFrame({"digest": [digest(0)], "tags": [""]}), "images", "lacks the column"),
        (frame(("a", 1), ("b", 2)).assign(digest=digest(0)), "column 'digest'", "appears twice"),
        (frame(("a", -1)), "digest", "after now"),
        (
            pd.DataFrame({"digest": [digest(0)], "tags": ["a"], "pushed_at": [None]}),
            "row 0",
            "missing",
        ),
    ],
)
def test_preview_refuses_malformed_images(images: pd.DataFrame, where: str, words: str) -> None:
    with pytest.raises(InputError) as raised:
        ecr.lifecycle_preview({"rules": [rule(1, "any", "imageCountMoreThan", 1)]}, images, now=NOW)
    assert where in (raised.value.where or "") and words in raised.value.what


def test_preview_refuses_what_is_not_images_or_a_time() -> None:
    policy = {"rules": [rule(1, "any", "imageCountMoreThan", 1)]}
    with pytest.raises(InputError, match="must be a DataFrame"):
        ecr.lifecycle_preview(policy, "images", now=NOW)
    with pytest.raises(InputError, match="not a point in time"):
        ecr.lifecycle_preview(policy, frame(("a", 1)), now="soon")


# --------------------------------------------------------------------------------------------
# Validation, as ECR does it
# --------------------------------------------------------------------------------------------

OK = rule(1, "tagged", "imageCountMoreThan", 5, tagPrefixList=["release"])


def sel(**changes: Any) -> dict:
    """OK's rule with its selection changed (None removes a field)."""
    selection = {**OK["selection"], **changes}
    return {**OK, "selection": {k: v for k, v in selection.items() if v is not None}}


@pytest.mark.parametrize(
    ("policy", "where", "words"),
    [
        ("{not json", "line 1, column 2", "not valid JSON"),
        ([OK], "lifecycle policy", "is a JSON object"),
        ({"rules": [OK], "version": 1}, "lifecycle policy", "Unknown top-level"),
        ({"rules": []}, "lifecycle policy, rules", "non-empty list"),
        ({"rules": ["rule"]}, "rule 1", "A rule is a JSON object"),
        ({"rules": [{**OK, "name": "x"}]}, "rule 1 (rulePriority 1)", "Unknown field"),
        ({"rules": [{k: v for k, v in OK.items() if k != "action"}]}, "action", "required"),
        ({"rules": [{**OK, "rulePriority": 0}]}, "rulePriority", "positive integer"),
        ({"rules": [{**OK, "rulePriority": True}]}, "rulePriority", "positive integer"),
        ({"rules": [{**OK, "rulePriority": "1"}]}, "rulePriority", "positive integer"),
        ({"rules": [{**OK, "description": 3}]}, "description", "must be a string"),
        ({"rules": [OK, {**sel(tagPrefixList=["dev"])}]}, "rule 2", "rulePriority 1 is used"),
        ({"rules": [sel(tagStatus="all")]}, "selection.tagStatus", "must be one of"),
        ({"rules": [sel(tagPrefixList=None)]}, "selection.tagStatus", "needs a tagPrefixList"),
        ({"rules": [sel(tagPatternList=["r*"])]}, "selection.tagPatternList", "not both"),
        ({"rules": [sel(tagPrefixList=[])]}, "selection.tagPrefixList", "non-empty list"),
        ({"rules": [sel(tagPrefixList=[""])]}, "selection.tagPrefixList", "not a tag text"),
        (
            {"rules": [sel(tagPrefixList=None, tagPatternList=["*a*b*c*d*e"])]},
            "selection.tagPatternList",
            "at most four",
        ),
        ({"rules": [sel(tagStatus="untagged")]}, "selection.tagPrefixList", "only used with"),
        (
            {"rules": [sel(tagStatus="any", tagPrefixList=None, tagPatternList=["x*"])]},
            "selection.tagPatternList",
            "only used with",
        ),
        ({"rules": [sel(countType="newest")]}, "selection.countType", "must be one of"),
        ({"rules": [sel(countType="sinceImagePulled")]}, "selection.countType", "not modelled"),
        ({"rules": [sel(countType="sinceImagePushed")]}, "selection.countUnit", "needs countUnit"),
        (
            {"rules": [sel(countType="sinceImagePushed", countUnit="hours")]},
            "selection.countUnit",
            "needs countUnit 'days'",
        ),
        ({"rules": [sel(countUnit="days")]}, "selection.countUnit", "only used with"),
        ({"rules": [sel(countNumber=0)]}, "selection.countNumber", "positive integer"),
        ({"rules": [sel(countNumber="5")]}, "selection.countNumber", "positive integer"),
        ({"rules": [sel(storageClass="archive")]}, "selection.storageClass", "not modelled"),
        ({"rules": [sel(size=3)]}, "selection", "Unknown field"),
        ({"rules": [{**OK, "action": {"type": "delete"}}]}, "action.type", "must be"),
        ({"rules": [{**OK, "action": {"type": "transition"}}]}, "action.type", "not modelled"),
        ({"rules": [{**OK, "action": "expire"}]}, "action.type", "must be"),
    ],
)
def test_invalid_policies_are_refused_naming_the_rule_and_field(
    policy: Any, where: str, words: str
) -> None:
    with pytest.raises(InputError) as raised:
        ecr.validate_policy(policy)
    assert where in (raised.value.where or ""), raised.value.where
    assert words in raised.value.what


def test_an_any_rule_must_have_the_highest_priority() -> None:
    policy = {"rules": [rule(5, "any", "imageCountMoreThan", 20), {**OK, "rulePriority": 7}]}
    with pytest.raises(InputError) as raised:
        ecr.validate_policy(policy)
    assert raised.value.where == "lifecycle policy, rule 1 (rulePriority 5), rulePriority"
    assert "highest rulePriority" in raised.value.what
    assert ecr.validate_policy({"rules": [OK, rule(9, "any", "imageCountMoreThan", 20)]})


def test_only_one_rule_may_select_untagged_images() -> None:
    policy = {
        "rules": [
            rule(1, "untagged", "sinceImagePushed", 1),
            rule(2, "untagged", "imageCountMoreThan", 3),
        ]
    }
    with pytest.raises(InputError, match="Only one rule may select untagged"):
        ecr.validate_policy(policy)


def test_tagged_rules_need_distinct_tag_lists() -> None:
    twin = {**OK, "rulePriority": 2}
    with pytest.raises(InputError, match="same tagPrefixList"):
        ecr.validate_policy({"rules": [OK, twin]})
    other = sel(tagPrefixList=["release", "lts"]) | {"rulePriority": 2}
    assert ecr.validate_policy({"rules": [OK, other]})


def test_a_valid_policy_comes_back_as_a_dict_from_json_text() -> None:
    assert ecr.validate_policy(json.dumps({"rules": [OK]})) == {"rules": [OK]}


# --------------------------------------------------------------------------------------------
# The CI history and the exercise's check
# --------------------------------------------------------------------------------------------


def test_sample_history_is_deterministic_and_has_each_kind() -> None:
    history = ecr.sample_history()
    assert history.equals(ecr.sample_history())
    assert history["pushed_at"].is_monotonic_increasing
    counts = history["kind"].value_counts().to_dict()
    assert counts["release"] >= 6 and counts["dev"] >= 10 and counts["untagged"] >= 4
    tagged = history.loc[history["tags"] != "", "tags"]
    assert tagged.is_unique
    assert (history.loc[history["kind"] == "untagged", "tags"] == "").all()
    assert not history.equals(ecr.sample_history(seed=9))


RELEASE_POLICY = {
    "rules": [
        rule(1, "untagged", "sinceImagePushed", 1),
        rule(2, "tagged", "imageCountMoreThan", 5, tagPatternList=["release-*"]),
    ]
}


def history_images() -> tuple[pd.DataFrame, pd.Timestamp]:
    history = ecr.sample_history()
    images = history.assign(digest=[digest(i) for i in range(len(history))])
    return images, history["pushed_at"].max() + pd.Timedelta(hours=2)


def test_lifecycle_check_passes_the_policy_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    images, now = history_images()
    checks.lifecycle_policy(RELEASE_POLICY, images, now=now)
    prefixed = json.loads(json.dumps(RELEASE_POLICY))
    prefixed["rules"][1]["selection"] = {
        k: v for k, v in prefixed["rules"][1]["selection"].items() if k != "tagPatternList"
    } | {"tagPrefixList": ["release"]}
    checks.lifecycle_policy(json.dumps(prefixed), images, now=now)
    assert capsys.readouterr().out.count("✔ your policy expires") == 2


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (None, "no answer yet"),
        ({"rules": [rule(1, "any", "imageCountMoreThan", 5)]}, "expires images it should keep"),
        ({"rules": RELEASE_POLICY["rules"][1:]}, "should expire are kept"),
        ({"rules": [rule(1, "tagged", "imageCountMoreThan", 5)]}, "ECR would refuse"),
    ],
)
def test_lifecycle_check_fails_other_policies(policy: Any, words: str) -> None:
    images, now = history_images()
    with pytest.raises(CheckFailed, match=words):
        checks.lifecycle_policy(policy, images, now=now)


# --------------------------------------------------------------------------------------------
# Against the emulator: repository, push, immutability, scanning, applying a policy
# --------------------------------------------------------------------------------------------


@pytest.fixture
def repository(ctx) -> Iterator[str]:
    name = f"labs-test-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        with contextlib.suppress(ClientError):
            ctx.client("ecr").delete_repository(repositoryName=name, force=True)


def test_recreate_repository_is_immutable_scans_on_push_and_starts_empty(
    ctx, repository: str
) -> None:
    first = ecr.recreate_repository(ctx, repository, lab="test-08")
    assert first["imageTagMutability"] == "IMMUTABLE"
    assert first["imageScanningConfiguration"] == {"scanOnPush": True}
    ecr.push(ctx, repository, image.bookstore_image(), tag="v1")
    again = ecr.recreate_repository(ctx, repository, lab="test-08")
    assert again["repositoryName"] == repository
    assert ecr.images(ctx, repository).empty
    tags = ctx.client("ecr").list_tags_for_resource(resourceArn=again["repositoryArn"])["tags"]
    assert {"Key": "lab", "Value": "test-08"} in tags
    assert {"Key": "workshop", "Value": "devops-on-aws-labs"} in tags


def test_push_uploads_missing_blobs_then_puts_the_manifest(ctx, repository: str) -> None:
    ecr.recreate_repository(ctx, repository, lab="test-08")
    v1 = image.bookstore_image(version="v1")
    first = ecr.push(ctx, repository, v1, tag="v1")
    assert first.digest == v1.digest == "sha256:" + hashlib.sha256(v1.manifest.data).hexdigest()
    assert first.blobs["action"].tolist() == ["uploaded", "uploaded", "put (PutImage)"]
    client = ctx.client("ecr")
    check = client.batch_check_layer_availability(
        repositoryName=repository, layerDigests=[b.digest for b in v1.blobs()]
    )
    assert {(x["layerDigest"], x["layerSize"]) for x in check["layers"]} == {
        (b.digest, b.size) for b in v1.blobs()
    }
    stored = client.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": "v1"}])
    assert stored["images"][0]["imageManifest"] == v1.manifest.data.decode()
    second = ecr.push(ctx, repository, image.bookstore_image(version="v2"), tag="v2")
    assert second.blobs["action"].tolist() == [
        "already in the repository",
        "uploaded",
        "put (PutImage)",
    ]
    listing = ecr.images(ctx, repository)
    assert sorted(listing["tags"]) == ["v1", "v2"]
    assert set(listing["digest"]) == {v1.digest, second.digest}


def test_an_immutable_tag_cannot_be_pushed_again(ctx, repository: str) -> None:
    ecr.recreate_repository(ctx, repository, lab="test-08")
    original = image.bookstore_image(version="v1")
    ecr.push(ctx, repository, original, tag="v1")
    for other in (image.bookstore_image(version="v1", revision="hotfix"), original):
        with pytest.raises(ClientError) as refused:
            ecr.push(ctx, repository, other, tag="v1")
        assert refused.value.response["Error"]["Code"] in (
            "ImageTagAlreadyExistsException",  # AWS
            "ImageAlreadyExistsException",  # the local emulator, for both cases
        )
    assert ecr.images(ctx, repository)["digest"].tolist() == [original.digest]


def test_a_push_by_digest_makes_an_untagged_image(ctx, repository: str) -> None:
    ecr.recreate_repository(ctx, repository, lab="test-08")
    result = ecr.push(ctx, repository, image.bookstore_image(version="cache"))
    assert result.tag is None
    assert ecr.images(ctx, repository)["tags"].tolist() == [""]


class FakeEcr:
    """Records layer-upload calls; ECR's answer to CompleteLayerUpload is configurable."""

    def __init__(self, part_size: int, answer: str | None = None) -> None:
        self.part_size, self.answer, self.parts = part_size, answer, []

    def initiate_layer_upload(self, **_: Any) -> dict:
        return {"uploadId": "u-1", "partSize": self.part_size}

    def upload_layer_part(self, **kwargs: Any) -> dict:
        self.parts.append(
            (kwargs["partFirstByte"], kwargs["partLastByte"], kwargs["layerPartBlob"])
        )
        return {}

    def complete_layer_upload(self, **kwargs: Any) -> dict:
        data = b"".join(p[2] for p in self.parts)
        return {"layerDigest": self.answer or "sha256:" + hashlib.sha256(data).hexdigest()}


def test_large_blobs_are_uploaded_in_parts_and_their_digest_checked() -> None:
    data = bytes(range(256)) * 10
    wanted = "sha256:" + hashlib.sha256(data).hexdigest()
    fake = FakeEcr(part_size=1000)
    ecr._upload(fake, "repo", data, wanted)
    assert [(first, last) for first, last, _ in fake.parts] == [
        (0, 999),
        (1000, 1999),
        (2000, 2559),
    ]
    with pytest.raises(LabsError, match="computed"):
        ecr._upload(FakeEcr(part_size=1000, answer="sha256:" + "0" * 64), "repo", data, wanted)


def test_scan_findings_on_the_emulator_are_canned(ctx, repository: str) -> None:
    ecr.recreate_repository(ctx, repository, lab="test-08")
    ecr.push(ctx, repository, image.bookstore_image(), tag="v1")
    scan = ecr.scan_findings(ctx, repository, tag="v1")
    assert scan.status == "COMPLETE" and scan.started_here  # the emulator never scans on push
    assert scan.findings.to_dict("records") == [
        {
            "name": "CVE-9999-9999",
            "severity": "HIGH",
            "package": "moto_fake",
            "version": "9.9.9",
            "uri": "https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-9999-9999",
        }
    ]
    assert scan.severity_counts == {"HIGH": 1}
    again = ecr.scan_findings(ctx, repository, tag="v1")
    assert not again.started_here and len(again.findings) == 1


def test_the_emulator_stores_a_policy_ecr_would_refuse(ctx, repository: str) -> None:
    """FACTS.md: the emulator has no lifecycle preview and validates little; we must."""
    ecr.recreate_repository(ctx, repository, lab="test-08")
    misordered = {"rules": [rule(1, "any", "imageCountMoreThan", 5), {**OK, "rulePriority": 2}]}
    client = ctx.client("ecr")
    client.put_lifecycle_policy(
        repositoryName=repository, lifecyclePolicyText=json.dumps(misordered)
    )
    with pytest.raises(InputError):
        ecr.validate_policy(misordered)


def test_applying_a_preview_deletes_exactly_what_it_expires(ctx, repository: str) -> None:
    ecr.recreate_repository(ctx, repository, lab="test-08")
    history = ecr.sample_history(days=10)
    pushed = ecr.push_history(ctx, repository, history)
    assert len(ecr.images(ctx, repository)) == len(history)
    assert (pushed["pushed_at"] == history["pushed_at"]).all()  # simulated, not wall time
    now = history["pushed_at"].max() + pd.Timedelta(hours=1)
    preview = ecr.lifecycle_preview(RELEASE_POLICY, pushed, now=now)
    assert (preview["action"] == "expire").sum() >= 2
    deleted = ecr.apply_lifecycle(ctx, repository, preview)
    assert set(deleted["result"]) == {"deleted"}
    left = ecr.images(ctx, repository)
    assert set(left["digest"]) == set(preview.loc[preview["action"] == "keep", "digest"])
    with pytest.raises(InputError, match="lacks the columns"):
        ecr.apply_lifecycle(ctx, repository, pd.DataFrame({"x": [1]}))
