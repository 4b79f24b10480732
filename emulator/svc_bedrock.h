/*
 * svc_bedrock.h - Bedrock Runtime (spec/bedrock-runtime.md): Converse,
 * ConverseStream, InvokeModel and InvokeModelWithResponseStream with
 * scripted answers from the config's "bedrock" section, streamed frame by
 * frame on loop timers, with the fault set's Bedrock faults applied.
 *
 *   "bedrock": {"models": [{"id": "apac.amazon.nova-micro-v1:0",
 *     "family": "nova" | "anthropic",
 *     "rules": [{"match": {"exact" | "contains" | "regex": "..."},
 *                "answer": "...", "chunking": "words" | "chars" |
 *                {"size": N} | ["explicit", "pieces"],
 *                "firstDelayMs": N, "delayMs": N, "stopReason": "end_turn",
 *                "usage": {"inputTokens": N, "outputTokens": N}}],
 *     "default": {the same without "match"}}]}
 *
 * Rules are tried in order on the text of the last user message; the first
 * that matches answers, else "default", else a built-in echo. "{prompt}" in
 * an answer is replaced by that text.
 */
#ifndef KAERI_SVC_BEDROCK_H
#define KAERI_SVC_BEDROCK_H

#include "services.h"

extern const struct service svc_bedrock;

#endif
