"""Captioning through an OpenAI-compatible chat-completions server (``vllm serve``,
SGLang, TGI, hosted APIs).

Images go as base64 JPEG data URLs; requests run concurrently up to
``max_concurrency`` per actor; the ``openai`` SDK handles timeouts and retries with
exponential backoff on connection errors, 408/409/429 and 5xx (honouring
``Retry-After``). An image whose request still fails becomes that image's error; the
server itself is checked before any work (``check_server``): down, or not serving the
configured model, stops the run with exit code 2.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from captioners.base import BaseCaptioner, Generation
from captioners.config import OpenAICaptionerConfig, PromptSpec
from paraimage.errors import UserError


class ServerUnavailableError(UserError, RuntimeError):
    """The server cannot be reached or does not serve the configured model."""


def api_key(config: OpenAICaptionerConfig) -> str:
    # Local servers accept any key; the SDK insists on a non-empty one.
    return os.environ.get(config.api_key_env) or "EMPTY"


def check_server(config: OpenAICaptionerConfig) -> None:
    import openai

    client = openai.OpenAI(
        base_url=config.base_url, api_key=api_key(config), timeout=10.0, max_retries=1
    )
    try:
        served = [model.id for model in client.models.list()]
    except openai.APIConnectionError as exc:
        raise ServerUnavailableError(
            f"captioner.base_url: cannot reach {config.base_url} ({exc.__cause__ or exc})"
        ) from exc
    except openai.APIStatusError as exc:
        raise ServerUnavailableError(
            f"captioner.base_url: {config.base_url} answered {exc.status_code} to /models "
            f"(wrong URL or API key in ${config.api_key_env}?)"
        ) from exc
    if config.model not in served:
        raise ServerUnavailableError(
            f"captioner.model: {config.base_url} serves {served}, not {config.model!r}"
        )


def data_url(image: np.ndarray, quality: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class OpenAICaptioner(BaseCaptioner):
    def __init__(
        self, config: OpenAICaptionerConfig, model_path: str, model_name: str,
        primary: bool = True, drop_images: bool = True,
    ) -> None:
        super().__init__(config=config, primary=primary, drop_images=drop_images)
        self.config = config
        self.model_name = model_name
        self.prompt_text = config.prompt_text
        self.params = config.sampling_params()
        self.retry_params = config.sampling_params(retry=True)
        self.params_json = config.sampling_params_json()
        self.retry_params_json = config.sampling_params_json(retry=True)
        # The requests' event loop runs on a thread of its own: the calling thread may
        # already run a loop (async Ray actors, notebooks, Playwright's sync API), and
        # asyncio.run() refuses to start inside one.
        self._loop_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openai")

    def _request(
        self, image: np.ndarray, params: dict[str, Any], prompt_text: str
    ) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url",
                         "image_url": {"url": data_url(image, self.config.jpeg_quality)}},
                        {"type": "text", "text": prompt_text},
                    ],
                }
            ],
            "max_tokens": params["max_tokens"],
            "temperature": params["temperature"],
            "top_p": params["top_p"],
            "seed": params["seed"],
            # not in OpenAI's API; vLLM and SGLang read it from the body
            "extra_body": {"repetition_penalty": params["repetition_penalty"]},
        }

    async def _generate(
        self, images: list[np.ndarray], params: dict[str, Any], prompt_text: str
    ) -> list[Generation | Exception]:
        import openai

        semaphore = asyncio.Semaphore(self.config.max_concurrency)
        async with openai.AsyncOpenAI(
            base_url=self.config.base_url,
            api_key=api_key(self.config),
            timeout=self.config.timeout_s,
            max_retries=self.config.max_retries,
        ) as client:

            async def one(image: np.ndarray) -> Generation | Exception:
                async with semaphore:
                    try:
                        response = await client.chat.completions.create(
                            **self._request(image, params, prompt_text)
                        )
                    except openai.OpenAIError as exc:
                        return exc
                choice = response.choices[0]
                usage = response.usage
                return Generation(
                    text=choice.message.content or "",
                    finish_reason=choice.finish_reason,
                    n_tokens=usage.completion_tokens if usage else 0,
                )

            return list(await asyncio.gather(*(one(image) for image in images)))

    def generate(
        self, images: list[np.ndarray], retry: bool = False, spec: PromptSpec | None = None
    ) -> list[Generation | Exception]:
        if spec is not None:
            params, prompt_text = spec.params_for(retry), spec.prompt_text
        else:
            params, prompt_text = (self.retry_params if retry else self.params), self.prompt_text
        return self._loop_thread.submit(
            asyncio.run, self._generate(images, params, prompt_text)
        ).result()
