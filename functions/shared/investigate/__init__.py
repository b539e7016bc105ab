"""Read-only investigations of an AWS account: the evidence an expert looks at first, as compact `Fact` lists.

The gather stages call these per alert type (the playbooks), and the chat bot's agents call the same functions as
tools. Every function reads only, is bounded in time and size, and reports missing permissions or data as notes.
"""
