"""A bounded section keeps each fact's edge (`Fact.via`): a neighbour's facts still say why they are there."""

from __future__ import annotations

from functions.shared.models import ContextSection, Fact
from functions.shared.state_bounds import bound_section


def test_the_graph_walks_edge_survives_the_state_bound() -> None:
    section = ContextSection(
        name="compute",
        status="ok",
        facts=[
            Fact(key="compute.instance", text="EC2 i-0a1b2c3d4e5f60718: running", via="unhealthy target of group web"),
            Fact(key="compute.lb", text="Application load balancer web: active"),
        ],
    )
    bounded = bound_section(section)
    assert [f.via for f in bounded.facts] == ["unhealthy target of group web", None]
    assert bounded.model_dump(mode="json")["facts"][0]["via"] == "unhealthy target of group web"
