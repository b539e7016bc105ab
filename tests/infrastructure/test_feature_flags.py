"""Every feature flag aws-cdk-lib recommends is set in cdk.json, so `cdk synth` warns of none and an upgrade of
aws-cdk-lib that adds flags shows up here. Where this app deliberately differs from the recommendation, the
reason is written below."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import aws_cdk

REPO_ROOT = Path(__file__).resolve().parents[2]
DIFFERENT_ON_PURPOSE = {
    # Partition as a token (arn:${AWS::Partition}:...): the cdk-nag acknowledgements name findings by the rendered
    # resource, and the stacks stay deployable to other partitions without a rebuild.
    "@aws-cdk/core:enablePartitionLiterals": False,
    # Strong references, chosen explicitly (the warning's alternative to migrating through "both"): a producer stack
    # cannot be changed in a way that breaks its consumers, and the template stays plain Fn::ImportValue.
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


def _recommended() -> dict[str, object]:
    bundle = next((Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(bundle) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        return dict(json.load(member))


def test_every_recommended_flag_is_set_and_differences_are_explained() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    recommended = _recommended()
    assert sorted(set(recommended) - set(context)) == []
    differing = {k: context[k] for k, v in recommended.items() if context[k] != v}
    assert differing == DIFFERENT_ON_PURPOSE
