"""The chat supervisor: a LangGraph `StateGraph` that routes a question to one specialist and returns its answer.

    supervisor ──route──► CostAnalyst | InfraExpert | LogsAnalyst | General ──► END

The supervisor classifies with Claude when a model is configured (one small forced tool call) and by keywords
otherwise or when the model fails. Specialists are defined in `functions.chat.agents.roster`. LangGraph is
imported here and nowhere outside `functions/chat/`.

Every answer leaves through `ask`, which holds the `aws` commands it mentions to the alert pipeline's rule
(`functions.shared.aws_commands`): an unsafe one is replaced by a marker, one that would print secrets by its
secret-free form. A model's answer, a tool's findings and the canned text are all checked, since each can quote
alert or log text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from functions.chat.agents.general import answer_general
from functions.chat.agents.roster import SPECIALISTS_BY_NAME
from functions.chat.agents.routing import MessagesModel, RouteDecision, route_by_keywords, route_with_model
from functions.chat.agents.specialist import Limits, run_specialist
from functions.chat.tools import ToolBox
from functions.shared.aws_commands import CommandFilter
from functions.shared.chat_models import AgentAnswer, AgentName, AlertContext, ChatMessage


class ChatState(TypedDict, total=False):
    question: str
    history: list[ChatMessage]
    alert_context: AlertContext | None
    route: RouteDecision
    answer: AgentAnswer


@dataclass
class SupervisorDeps:
    toolbox: ToolBox
    model: MessagesModel | None = None
    limits: Limits = field(default_factory=Limits)


def build_supervisor(deps: SupervisorDeps) -> Any:
    """The compiled graph; invoke it with `{"question": ..., "history": [...], "alert_context": ...}`."""

    def supervisor(state: ChatState) -> dict[str, Any]:
        question = state["question"]
        alert_context = state.get("alert_context")
        if deps.model is None:
            return {"route": route_by_keywords(question, alert_context)}
        return {"route": route_with_model(deps.model, question, alert_context)}

    def specialist_node(name: AgentName) -> Any:
        specialist = SPECIALISTS_BY_NAME[name]

        def node(state: ChatState) -> dict[str, Any]:
            answer = run_specialist(
                specialist,
                state["question"],
                state.get("history", []),
                state.get("alert_context"),
                deps.toolbox,
                deps.model,
                deps.limits,
            )
            return {"answer": answer}

        return node

    def general(state: ChatState) -> dict[str, Any]:
        answer = answer_general(
            state["question"], state.get("history", []), state.get("alert_context"), deps.model, deps.limits
        )
        return {"answer": answer}

    graph = StateGraph(ChatState)
    graph.add_node("supervisor", supervisor)
    for name in SPECIALISTS_BY_NAME:
        graph.add_node(name, specialist_node(name))
    graph.add_node("General", general)
    graph.add_edge(START, "supervisor")
    destinations: list[str] = [*SPECIALISTS_BY_NAME, "General"]
    graph.add_conditional_edges("supervisor", lambda state: state["route"].agent, destinations)
    for destination in destinations:
        graph.add_edge(destination, END)
    return graph.compile()


def ask(
    deps: SupervisorDeps,
    question: str,
    history: Sequence[ChatMessage] = (),
    alert_context: AlertContext | None = None,
) -> AgentAnswer:
    """Run the supervisor on one question; the answer carries the route, tools used and token counts.

    Never raises for model or tool failures (they become labelled fallbacks and notes).
    """
    final = build_supervisor(deps).invoke(
        {"question": question, "history": list(history), "alert_context": alert_context}
    )
    route: RouteDecision = final["route"]
    answer: AgentAnswer = final["answer"]
    commands = CommandFilter()
    text = commands.redact_text(answer.answer)
    notes = answer.notes + ([f"{len(commands.dropped)} unsafe command(s) removed"] if commands.dropped else [])
    return answer.model_copy(
        update={
            "answer": text,
            "notes": notes,
            "route_reason": f"{route.by}: {route.reason}",
            "input_tokens": answer.input_tokens + route.input_tokens,
            "output_tokens": answer.output_tokens + route.output_tokens,
        }
    )
