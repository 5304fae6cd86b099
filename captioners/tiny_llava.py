"""A tiny random-weight LLaVA, built locally, for tests and for the offline demo.

Machines here reach no model hub, so tests (and the demo when the hub is out of reach)
build a ~0.3M-parameter LLaVA: a 2-layer CLIP vision tower and a 2-layer Llama, a
byte-level BPE tokenizer trained on a few sentences, and the LLaVA-1.5 chat template.
It is saved with ``save_pretrained`` and loaded by the same code that loads real
checkpoints (vLLM, transformers). Its text is noise: it exercises shapes, plumbing
and counts, never caption quality.
"""

from __future__ import annotations

import json
from pathlib import Path

BUILD_VERSION = "2"  # bump when the recipe changes so cached copies are rebuilt

IMAGE_SIZE = 32
PATCH_SIZE = 8
IMAGE_TOKEN = "<image>"
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>", IMAGE_TOKEN]

# LLaVA-1.5's conversation format, as a processor chat template.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: "
    "{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<image>\n{% elif item['type'] == 'text' %}"
    "{{ item['text'] }}{% endif %}{% endfor %} "
    "{% else %}ASSISTANT: {% for item in message['content'] %}"
    "{% if item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}</s>"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

_CORPUS = [
    "A photograph of an astronaut in a white suit standing in front of a flag.",
    "A cup of coffee with latte art sits on a saucer on a wooden table.",
    "A tabby cat with green eyes lies on a soft blanket near a window.",
    "A red and white rocket stands on the launch pad under a blue sky.",
    "Provide a detailed description of the image using approximately words.",
    "The scene shows people, buildings, trees, flowers, mountains and the sea.",
    "USER: ASSISTANT: the a an of in on with and is are there two three four five.",
]


def _train_tokenizer(vocab_size: int = 400):  # -> PreTrainedTokenizerFast
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _rename_vision_keys_for_vllm(model_dir: Path) -> None:
    """transformers 5.x saves ``vision_tower.embeddings...``; vLLM's LLaVA loader expects
    ``vision_tower.vision_model...``. The renamed checkpoint loads in both."""
    from safetensors.torch import load_file, save_file

    path = model_dir / "model.safetensors"
    tensors = load_file(str(path))
    renamed = {}
    for key, tensor in tensors.items():
        for prefix in ("model.vision_tower.", "vision_tower."):
            if key.startswith(prefix) and not key.startswith(f"{prefix}vision_model."):
                key = f"{prefix}vision_model.{key[len(prefix):]}"
                break
        renamed[key] = tensor.contiguous()
    save_file(renamed, str(path), metadata={"format": "pt"})


def build_tiny_llava(model_dir: str | Path, seed: int = 0) -> Path:
    """Build (or reuse) the tiny model in ``model_dir``; returns the directory."""
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    model_dir = Path(model_dir)
    marker = model_dir / "paraimage_tiny_llava.json"
    if marker.exists() and json.loads(marker.read_text()).get("version") == BUILD_VERSION:
        return model_dir
    model_dir.mkdir(parents=True, exist_ok=True)

    tokenizer = _train_tokenizer()
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=IMAGE_SIZE,
            patch_size=PATCH_SIZE,
            projection_dim=64,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            # head_dim 32: vLLM's CPU attention kernels support 32 and up, not 16
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=2048,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    model.save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    _rename_vision_keys_for_vllm(model_dir)
    marker.write_text(json.dumps({"version": BUILD_VERSION, "seed": seed}))
    return model_dir
