"""Forms: prefill a scenario's unified application form from what the user said, and check its values.

- ``roles``: whose a value or a field is; ``slots`` (with ``numbers``, ``names``, ``organisations``,
  ``addresses``, ``lexer``): typed values in a message; ``labels`` and ``matching``: which value fills which
  field; ``validators``: one value by field type; ``extraction``: LLM JSON extraction; ``filler``:
  ``FormFiller``; ``text``: what the citizen reads; ``vocabulary``: the domain words in ``agent/data``."""
from agent.forms.extraction import json_schema_for, parse_json_object
from agent.forms.filler import FormFiller
from agent.forms.found import Slot
from agent.forms.lexer import Lexer
from agent.forms.slots import SlotExtractor
from agent.forms.text import missing_prompt
from agent.forms.validators import Validation, Validator, id_number_info, validate
from agent.forms.vocabulary import Vocabulary, default_vocabulary

__all__ = ["FormFiller", "Lexer", "Slot", "SlotExtractor", "Validation", "Validator", "Vocabulary",
           "default_vocabulary", "id_number_info", "json_schema_for", "missing_prompt", "parse_json_object",
           "validate"]
