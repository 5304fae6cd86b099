"""A tiny random-weight model with CogVLM's remote-code interface, built locally for tests.

CogVLM and CogVLM2 (the ParaDiffusion paper's captioner) are not transformers
classes: their repositories ship their own modelling code, loaded with
``trust_remote_code=True`` through ``AutoModelForCausalLM``, and they have no processor
or chat template. Their code builds the prompt itself:
``model.build_conversation_input_ids(tokenizer, query=..., history=[], images=[image],
template_version="chat")`` returns 1-D ``input_ids``, ``token_type_ids`` (vision
tokens = 1), ``attention_mask`` and ``images`` (a list of pixel tensors), and
``model.generate`` takes them batched (``images`` as a list of lists).

This writes a ~0.2M-parameter model with that interface into a folder, as a hub
repository would hold it (``config.json`` with ``auto_map``, ``configuration_*.py``,
``modeling_*.py``, a tokenizer), so the transformers backend's CogVLM path runs for
real, remote-code loading included. Its text is noise.
"""

from __future__ import annotations

import json
from pathlib import Path

BUILD_VERSION = "1"

CONFIGURATION = '''
from transformers import LlamaConfig


class TinyCogConfig(LlamaConfig):
    model_type = "tinycog"

    def __init__(self, image_size=16, n_image_tokens=4, **kwargs):
        self.image_size = image_size
        self.n_image_tokens = n_image_tokens
        super().__init__(**kwargs)
'''

MODELING = '''
import numpy as np
import torch
from torch import nn
from transformers import LlamaForCausalLM

from .configuration_tinycog import TinyCogConfig

LANGUAGE_TOKEN_TYPE = 0
VISION_TOKEN_TYPE = 1


def chat_history_to_prompt(history, query):
    # CogVLM's "chat" template (chat_old_history_to_prompt)
    prompt = "Question: "
    for old_query, response in history:
        prompt += old_query + " Answer: " + response + "\\nQuestion: "
    return prompt + query + " Answer:"


class TinyCogForCausalLM(LlamaForCausalLM):
    config_class = TinyCogConfig

    def __init__(self, config):
        super().__init__(config)
        pixels = 3 * config.image_size * config.image_size
        self.vision = nn.Linear(pixels, config.n_image_tokens * config.hidden_size)

    def build_conversation_input_ids(self, tokenizer, *, query, history=None, images=None,
                                     template_version=None):
        if template_version not in (None, "chat", "base"):
            raise ValueError(f"unknown template_version {template_version}")
        text = chat_history_to_prompt(history or [], query)
        text_ids = tokenizer.encode(text, add_special_tokens=False)
        n_vision = self.config.n_image_tokens if images else 0
        input_ids = [tokenizer.bos_token_id] + [tokenizer.pad_token_id] * n_vision + text_ids
        token_types = ([LANGUAGE_TOKEN_TYPE] + [VISION_TOKEN_TYPE] * n_vision
                       + [LANGUAGE_TOKEN_TYPE] * len(text_ids))
        out = {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "token_type_ids": torch.tensor(token_types, dtype=torch.long),
            "attention_mask": torch.ones(len(input_ids), dtype=torch.long),
            "images": None,
        }
        if images:
            size = self.config.image_size
            image = images[0].convert("RGB").resize((size, size))
            array = np.asarray(image, dtype=np.float32) / 255.0
            out["images"] = [torch.from_numpy(array).permute(2, 0, 1).contiguous()]
        return out

    def forward(self, input_ids=None, images=None, token_type_ids=None, inputs_embeds=None,
                **kwargs):
        vision = token_type_ids == VISION_TOKEN_TYPE if token_type_ids is not None else None
        if (inputs_embeds is None and images is not None and vision is not None
                and vision.shape == input_ids.shape and bool(vision.any())):
            inputs_embeds = self.model.embed_tokens(input_ids)
            features = torch.stack([
                self.vision(sample[0].to(inputs_embeds.dtype).flatten()) for sample in images
            ]).view(-1, self.config.hidden_size)
            inputs_embeds = inputs_embeds.clone()
            inputs_embeds[vision] = features
            input_ids = None
        return super().forward(input_ids=input_ids, inputs_embeds=inputs_embeds, **kwargs)
'''


def build_tiny_cogvlm(model_dir: str | Path, seed: int = 0) -> Path:
    """Build (or reuse) the tiny CogVLM-interface model in ``model_dir``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from captioners.tiny_llava import _train_tokenizer

    model_dir = Path(model_dir)
    marker = model_dir / "paraimage_tiny_cogvlm.json"
    if marker.exists() and json.loads(marker.read_text()).get("version") == BUILD_VERSION:
        return model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer()
    tokenizer.chat_template = None  # CogVLM has none: its code builds the prompt
    tokenizer.save_pretrained(model_dir)
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
        max_position_embeddings=2048, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    language = LlamaForCausalLM(text).eval()
    vision = torch.nn.Linear(3 * 16 * 16, 4 * 64)
    state = {**language.state_dict(), **{f"vision.{k}": v for k, v in vision.state_dict().items()}}
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items() if k != "lm_head.weight"
               or not text.tie_word_embeddings}, str(model_dir / "model.safetensors"),
              metadata={"format": "pt"})
    config = {
        **text.to_dict(),
        "model_type": "tinycog",
        "architectures": ["TinyCogForCausalLM"],
        "image_size": 16,
        "n_image_tokens": 4,
        "auto_map": {
            "AutoConfig": "configuration_tinycog.TinyCogConfig",
            "AutoModelForCausalLM": "modeling_tinycog.TinyCogForCausalLM",
        },
    }
    (model_dir / "config.json").write_text(json.dumps(config, indent=2))
    (model_dir / "configuration_tinycog.py").write_text(CONFIGURATION.lstrip())
    (model_dir / "modeling_tinycog.py").write_text(MODELING.lstrip())
    marker.write_text(json.dumps({"version": BUILD_VERSION, "seed": seed}))
    return model_dir
