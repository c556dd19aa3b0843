"""An ADK app whose model answers offline and deterministically (no network, no key)."""

import asyncio
import contextlib
from typing import AsyncGenerator

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types


def _last_user_text(request: LlmRequest) -> str:
    for content in reversed(request.contents or []):
        if content.role == "user":
            texts = [part.text for part in content.parts or [] if part.text]
            if texts:
                return " ".join(texts)
    return ""


def _usage(prompt: str, answer: str) -> types.GenerateContentResponseUsageMetadata:
    prompt_tokens = max(1, len(prompt.split()))
    answer_tokens = max(1, len(answer.split()))
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt_tokens,
        candidates_token_count=answer_tokens,
        total_token_count=prompt_tokens + answer_tokens,
    )


class EchoLlm(BaseLlm):
    """Answers `echo: <the user's last text>`, streamed as three partial events and one final one."""

    model: str = "echo-offline"

    @classmethod
    def supported_models(cls) -> list[str]:
        return [r"echo-offline"]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        prompt = _last_user_text(llm_request)
        answer = f"echo: {prompt}"
        if stream:
            third = max(1, len(answer) // 3)
            pieces = [answer[:third], answer[third : 2 * third], answer[2 * third :]]
            for piece in pieces:
                await asyncio.sleep(0.05)
                yield LlmResponse(
                    content=types.Content(role="model", parts=[types.Part(text=piece)]),
                    partial=True,
                    model_version=self.model,
                )
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text=answer)]),
            partial=False,
            turn_complete=True,
            usage_metadata=_usage(prompt, answer),
            model_version=self.model,
        )

    @contextlib.asynccontextmanager
    async def connect(self, llm_request: LlmRequest):
        yield EchoConnection()


class EchoConnection(BaseLlmConnection):
    """A live connection that answers each text turn with `echo: <text>`."""

    def __init__(self) -> None:
        self._turns: asyncio.Queue = asyncio.Queue(maxsize=64)

    async def send_history(self, history: list[types.Content]) -> None:
        return None

    async def send_content(self, content: types.Content) -> None:
        texts = [part.text for part in content.parts or [] if part.text]
        if texts:
            await self._turns.put(" ".join(texts))

    async def send_realtime(self, blob: types.Blob) -> None:
        return None

    async def receive(self) -> AsyncGenerator[LlmResponse, None]:
        while True:
            text = await self._turns.get()
            yield LlmResponse(
                content=types.Content(role="model", parts=[types.Part(text=f"echo: {text}")]),
                turn_complete=True,
            )

    async def close(self) -> None:
        return None


root_agent = LlmAgent(
    name="vana",
    model=EchoLlm(),
    instruction="Answer the user.",
    description="VANA's offline stand-in: echoes the user, streaming.",
)
