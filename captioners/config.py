"""Captioner configuration: the model, the length-controlled prompt, sampling, sizing."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from captioners.qa import QAConfig

DEFAULT_PROMPT = "Provide a detailed description of the image using approximately {n_words} words."

# English VLM output runs ~1.3 tokens per word with LLaMA-family tokenizers; the
# margin lets a caption finish its last sentence instead of being cut (vLLM's
# default max_tokens of 16 would truncate every caption).
TOKENS_PER_WORD = 1.6
MAX_TOKENS_MARGIN = 32

# The only locally buildable stand-in model (captioners/tiny_llava.py).
TINY_MODEL_NAME = "tiny-random-llava"


class SamplingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.0, gt=0.0)
    seed: int = 0
    max_tokens: int | None = Field(
        None, gt=0, description="default: derived from target_words"
    )


@dataclass(frozen=True)
class PromptSpec:
    """One caption request shape: which variant, the instruction, the sampling."""

    variant: str
    prompt_text: str
    target_words: int
    params: dict[str, Any]
    retry_params: dict[str, Any]

    def params_for(self, retry: bool) -> dict[str, Any]:
        return self.retry_params if retry else self.params

    def params_json(self, retry: bool = False) -> str:
        return json.dumps(self.params_for(retry), sort_keys=True)


class CaptionVariant(BaseModel):
    """Another caption of every image by the same model: a length target (the paper's
    Table 5 ablation used 10, 50, 100 and 150 words) and optionally another prompt."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="default: '<target_words>w'")
    target_words: int = Field(gt=0, le=2000)
    prompt: str | None = Field(None, description="a name from `prompts` or a template")

    @property
    def label(self) -> str:
        return self.name or f"{self.target_words}w"


def _check_template(prompt: str) -> str:
    try:
        prompt.format(n_words=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"prompt may only use the {{n_words}} placeholder ({exc})") from exc
    return prompt


def looks_like_local_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().exists()


class CaptionerConfig(BaseModel):
    """What every backend shares: the model, the prompt, sampling, QA and sizing."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Hugging Face hub id or local path of the VLM")
    name: str | None = Field(
        None, description="label of this captioner in caption_variants; default: the model"
    )
    offline_fallback: Literal["tiny-random-llava"] | None = Field(
        None,
        description="when the hub cannot be reached, caption with this locally built model "
        "(demos only: its text is noise) and say so in caption_model",
    )
    prompts: dict[str, str] = Field(
        default_factory=dict, description="named prompt templates ({n_words} placeholder)"
    )
    prompt: str = Field(DEFAULT_PROMPT, description="a name from `prompts` or a template")
    target_words: int = Field(150, gt=0, le=2000)
    variants: list[CaptionVariant] = Field(
        default_factory=list,
        description="more captions per image by this model (other lengths or prompts), "
        "stored in caption_variants",
    )
    sampling: SamplingConfig = SamplingConfig()
    qa: QAConfig = QAConfig()
    batch_size: int = Field(16, gt=0, description="images per engine call")
    concurrency: int = Field(1, gt=0, description="engine replicas (actors)")
    num_gpus: float = Field(1.0, ge=0.0, description="GPUs per replica (0 on CPU)")
    num_cpus: float = Field(1.0, gt=0.0, description="CPUs reserved per replica")
    image_size: int | None = Field(
        None, gt=0, description="short edge images are resized to on CPU workers before "
        "the engine; default: the model processor's input size"
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="environment for the engine actors"
    )

    @field_validator("model")
    @classmethod
    def _local_path_must_exist(cls, model: str) -> str:
        if model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().exists():
            raise ValueError(f"model path does not exist: {model}")
        return model

    @field_validator("prompt")
    @classmethod
    def _prompt_placeholders(cls, prompt: str) -> str:
        return prompt if "{" not in prompt and " " not in prompt else _check_template(prompt)

    @field_validator("prompts")
    @classmethod
    def _templates_placeholders(cls, prompts: dict[str, str]) -> dict[str, str]:
        for template in prompts.values():
            _check_template(template)
        return prompts

    @model_validator(mode="after")
    def _variants_are_distinct(self) -> CaptionerConfig:
        self.template(self.prompt)  # a bare word must name a template
        for variant in self.variants:
            self.template(variant.prompt or self.prompt)
        labels = [self.label, *(variant.label for variant in self.variants)]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(f"caption variant names must be unique: {duplicates}")
        return self

    def template(self, prompt: str) -> str:
        """The template text of ``prompt``: a name from ``prompts``, or itself."""
        if prompt in self.prompts:
            return self.prompts[prompt]
        if "{" not in prompt and " " not in prompt:
            raise ValueError(f"prompt {prompt!r} is not a name in `prompts` {sorted(self.prompts)}")
        return prompt

    @property
    def label(self) -> str:
        """This captioner's main caption in caption_variants: NAME or MODEL, then words."""
        return f"{self.target_words}w"

    @property
    def prompt_text(self) -> str:
        return self.template(self.prompt).format(n_words=self.target_words)

    @property
    def max_tokens(self) -> int:
        return self.max_tokens_for(self.target_words)

    def max_tokens_for(self, target_words: int) -> int:
        if self.sampling.max_tokens is not None:
            return self.sampling.max_tokens
        return math.ceil(target_words * TOKENS_PER_WORD) + MAX_TOKENS_MARGIN

    def spec(self) -> PromptSpec:
        """The main caption's request."""
        return self._spec(self.label, self.prompt, self.target_words)

    def variant_specs(self) -> list[PromptSpec]:
        return [
            self._spec(variant.label, variant.prompt or self.prompt, variant.target_words)
            for variant in self.variants
        ]

    def _spec(self, label: str, prompt: str, target_words: int) -> PromptSpec:
        return PromptSpec(
            variant=label,
            prompt_text=self.template(prompt).format(n_words=target_words),
            target_words=target_words,
            params=self.sampling_params(target_words=target_words),
            retry_params=self.sampling_params(retry=True, target_words=target_words),
        )

    def sampling_params(
        self, retry: bool = False, target_words: int | None = None
    ) -> dict[str, Any]:
        """What is passed to ``vllm.SamplingParams`` and stored as ``caption_params``;
        ``retry``: the QA retry's other sampling (and another seed)."""
        params = {
            "temperature": self.sampling.temperature,
            "top_p": self.sampling.top_p,
            "repetition_penalty": self.sampling.repetition_penalty,
            "seed": self.sampling.seed,
            "max_tokens": self.max_tokens_for(target_words or self.target_words),
        }
        if retry:
            params.update(
                temperature=self.qa.retry_temperature,
                top_p=self.qa.retry_top_p,
                seed=self.sampling.seed + 1,
            )
        return params

    def sampling_params_json(self, retry: bool = False) -> str:
        return json.dumps(self.sampling_params(retry), sort_keys=True)


# The most sequences vLLM's offline defaults schedule at once (H100/H200/B200 and up;
# 256 on other GPUs and on CPU): Ray's ceiling of batches in flight per engine actor is
# sized for it, and each actor narrows it to its own engine's (vllm_async.py).
VLLM_LARGEST_DEFAULT_MAX_NUM_SEQS = 1024
MAX_BATCHES_IN_FLIGHT = 64


def batches_for(max_num_seqs: int, batch_size: int) -> int:
    """Batches holding twice the engine's ``max_num_seqs`` requests, plus one: the
    engine's own queue then holds prepared requests for every slot that frees
    (benchmarks/caption_engine.py on CPU: 0.82 of the ideal at one scheduler's worth,
    0.91 with twice)."""
    return min(MAX_BATCHES_IN_FLIGHT, max(2, math.ceil(2 * max_num_seqs / batch_size) + 1))


class VLLMCaptionerConfig(CaptionerConfig):
    backend: Literal["vllm"] = "vllm"
    engine: Literal["async", "sync"] = Field(
        "async",
        description="async: vLLM's AsyncLLM with several batches in flight per actor "
        "(the queue never drains at a batch boundary); sync: one vllm.LLM.generate per batch",
    )
    max_concurrent_batches: int | None = Field(
        None, gt=0, le=MAX_BATCHES_IN_FLIGHT,
        description="batches in flight per async engine; default: enough to keep the "
        "engine's max_num_seqs requests queued, ceil(2 * max_num_seqs / batch_size) + 1, with "
        "max_num_seqs as vLLM picks it for the device",
    )
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="passed to vLLM's engine (dtype, max_model_len, max_num_seqs, ...)",
    )

    @property
    def batches_in_flight(self) -> int:
        """Ray Data batches one engine actor may hold at once (1 for the sync engine):
        the configured number, else enough for ``engine_kwargs.max_num_seqs``, else for
        the largest default vLLM picks, which the actor then narrows to its engine's."""
        if self.engine == "sync":
            return 1
        if self.max_concurrent_batches is not None:
            return self.max_concurrent_batches
        seqs = self.engine_kwargs.get("max_num_seqs", VLLM_LARGEST_DEFAULT_MAX_NUM_SEQS)
        return batches_for(int(seqs), self.batch_size)

    @model_validator(mode="after")
    def _engine_kwargs_not_ours(self) -> VLLMCaptionerConfig:
        owned = {"model", "tokenizer", "seed"} & set(self.engine_kwargs)
        if owned:
            raise ValueError(f"engine_kwargs may not set {sorted(owned)}: use captioner.* keys")
        return self

    @property
    def trust_remote_code(self) -> bool:
        return bool(self.engine_kwargs.get("trust_remote_code", False))


class TransformersCaptionerConfig(CaptionerConfig):
    backend: Literal["transformers"]
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: str = Field("auto", description="auto (cuda when present), cpu, cuda, cuda:1, ...")
    trust_remote_code: bool = Field(
        False, description="run the model repository's own code (CogVLM, CogVLM2, ...)"
    )
    attn_implementation: str | None = Field(None, description="e.g. sdpa, flash_attention_2")
    chat_api: Literal["auto", "processor", "cogvlm"] = Field(
        "auto",
        description="processor: AutoProcessor + chat template; cogvlm: the repository's "
        "build_conversation_input_ids (CogVLM, CogVLM2); auto: cogvlm for a remote-code "
        "causal LM without a processor",
    )
    tokenizer: str | None = Field(
        None, description="tokenizer repository or path when the model has none of its own "
        "(CogVLM v1: lmsys/vicuna-7b-v1.5)"
    )
    template_version: str = Field("chat", description="CogVLM's prompt template")


class OpenAICaptionerConfig(CaptionerConfig):
    backend: Literal["openai"]
    model: str = Field(description="the model name the server serves (its /v1/models id)")
    base_url: str = Field(description="e.g. http://127.0.0.1:8000/v1")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable of the key")
    max_concurrency: int = Field(16, gt=0, description="requests in flight per actor")
    timeout_s: float = Field(120.0, gt=0, description="per request")
    max_retries: int = Field(4, ge=0, description="on connection errors, 429 and 5xx")
    jpeg_quality: int = Field(90, ge=1, le=100)
    num_gpus: float = Field(0.0, ge=0.0, description="the server has the GPUs")

    @field_validator("model")
    @classmethod
    def _local_path_must_exist(cls, model: str) -> str:
        return model  # a served model name, never a path we load

    @property
    def trust_remote_code(self) -> bool:
        return False


CAPTIONER_BACKENDS = ("vllm", "transformers", "openai")


def _backend_of(value: Any) -> str:
    """The tag picking the config model; a config without ``backend`` means vLLM."""
    if isinstance(value, dict):
        return value.get("backend", "vllm")
    return getattr(value, "backend", "vllm")


AnyCaptionerConfig = Annotated[
    Annotated[VLLMCaptionerConfig, Tag("vllm")]
    | Annotated[TransformersCaptionerConfig, Tag("transformers")]
    | Annotated[OpenAICaptionerConfig, Tag("openai")],
    Discriminator(_backend_of),
]
