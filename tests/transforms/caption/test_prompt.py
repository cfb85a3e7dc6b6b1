import types

import pytest
from transformers import AutoProcessor

from transforms.caption.prompt import (
    DEFAULT_PROMPT, build_messages, parse_action, prompt_id, render_prompt)


@pytest.mark.parametrize("raw, action", [
    ("  open the drawer.  ", "open the drawer"),
    ("open the drawer\nBecause the drawer moved.", "open the drawer"),
    ('"pick up the cup."', "pick up the cup"),
    ('"pick up the cup".', "pick up the cup"),
    ("'fold the towel'", "fold the towel"),
    ("cut the bread", "cut the bread"),
    ("", ""),
    ("\n\n", ""),
    ("move\x00 the\x07 cup", "move the cup"),
    ("öffne die Tür", "öffne die Tür"),
])
def test_parse_action(raw, action):
    assert parse_action(raw) == action


def test_prompt_id_is_stable_short_and_distinct():
    assert prompt_id("abc") == "pba7816bf"  # sha256("abc") starts with ba7816bf
    assert prompt_id(DEFAULT_PROMPT) == prompt_id(str(DEFAULT_PROMPT))
    assert prompt_id(DEFAULT_PROMPT) != prompt_id(DEFAULT_PROMPT + " ")
    assert len(prompt_id(DEFAULT_PROMPT)) == 9


def test_messages_put_before_then_after_then_text():
    (message,) = build_messages("what happened?")
    assert [part["type"] for part in message["content"]] == ["image", "image", "text"]
    assert message["content"][2]["text"] == "what happened?"


def test_render_prompt_uses_chat_template(tiny_vlm_path):
    processor = AutoProcessor.from_pretrained(tiny_vlm_path)
    text = render_prompt(processor, "what happened?")
    assert text.count(processor.image_token) == 2
    assert text.index(processor.image_token) < text.index("what happened?")


def test_render_prompt_without_chat_template_takes_the_documented_format_or_a_template():
    class PaliGemmaProcessor:
        chat_template, image_token = None, "<image>"
    assert render_prompt(PaliGemmaProcessor(), "why?") == "<image><image>why?"
    other = types.SimpleNamespace(chat_template=None, image_token="<img>")
    with pytest.raises(ValueError, match="--prompt-template"):
        render_prompt(other, "why?")
    assert render_prompt(other, "why?", "A{image}B{image}Q: {prompt}\n") == "A<img>B<img>Q: why?\n"
    with pytest.raises(ValueError, match="'{image}' twice"):
        render_prompt(other, "why?", "{image}{prompt}")
    with pytest.raises(ValueError, match="no image_token"):
        render_prompt(types.SimpleNamespace(chat_template=None), "why?", "{image}{image}{prompt}")


def test_a_template_overrides_the_chat_template(tiny_vlm_path):
    processor = AutoProcessor.from_pretrained(tiny_vlm_path)
    assert render_prompt(processor, "why?", "{image}{image}{prompt}") == "<image><image>why?"
