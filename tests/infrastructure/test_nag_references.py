"""cdk-nag finding ids for resources of another stack: written as cdk-nag prints them (its flattenCfnReference)."""

from __future__ import annotations

from cdk.nag import flatten_reference


def test_an_imported_bucket_arn_with_a_prefix_reads_as_the_export_name() -> None:
    # Given the archiver's resource pattern as the ChatHandler template holds it
    value = {
        "Fn::Join": [
            "",
            [{"Fn::ImportValue": "AlertIntel-dev-Storage:ExportsOutputFnGetAttArchiveArn1234"}, "/conversations/*"],
        ]
    }

    # Then its finding id shows the export name followed by the prefix, as cdk-nag prints it
    assert flatten_reference(value) == "AlertIntel-dev-Storage:ExportsOutputFnGetAttArchiveArn1234/conversations/*"


def test_refs_and_attributes_read_in_angle_brackets() -> None:
    value = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Fn::GetAtt": ["Bucket1", "Arn"]}]]}
    assert flatten_reference(value) == "arn:<AWS::Partition>:s3:::<Bucket1.Arn>"
    assert flatten_reference({"Fn::Sub": "arn:${AWS::Partition}:logs:*"}) == "arn:<AWS::Partition>:logs:*"
    assert flatten_reference(None) == ""
