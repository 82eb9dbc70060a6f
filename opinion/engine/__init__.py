"""opinion.engine — the 舆情 streaming engine, plain Python (no Django).

Interface (docs/opinion-engine.md has the full description)::

    from opinion.engine import Engine, EngineOptions, Gazetteer, Item, Rules

    engine = Engine(gazetteer=Gazetteer.from_file("jurisdiction.txt"),   # or None: all relevant
                    rules=Rules.from_file("rules.json"),                 # or None: defaults
                    route=RouteModel.load(dir), sentiment=SentimentModel.load(dir),  # optional
                    options=EngineOptions(close_after_hours=24))
    outcomes = engine.process(items)      # list[Item] in stream-time order → list[Outcome]
    engine.events()                       # list[EventSummary]
    engine.alerts()                       # list[AlertRecord], in the order raised
    state = engine.state_dict()           # JSON-compatible; persist it …
    engine = Engine.from_state(state, gazetteer=…, rules=…, route=…, sentiment=…)  # … resume

Grades ("一般", "较大", "重大", "特别重大") and alert reasons are plain Chinese constants: this
package cannot use Django's gettext, so the desk (the Django app) translates grades through its
own msgids and shows reasons as written.
"""

from opinion.engine.engine import Engine
from opinion.engine.gazetteer import Gazetteer, GazetteerError
from opinion.engine.model import (
    GRADES,
    AlertRecord,
    EngineOptions,
    EventSummary,
    Item,
    Outcome,
)
from opinion.engine.rules import BurstRule, Rules, RulesError

__all__ = [
    "GRADES",
    "AlertRecord",
    "BurstRule",
    "Engine",
    "EngineOptions",
    "EventSummary",
    "Gazetteer",
    "GazetteerError",
    "Item",
    "Outcome",
    "Rules",
    "RulesError",
]
