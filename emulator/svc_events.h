/*
 * svc_events.h - AppSync Events (spec/appsync-events.md): HTTP publish on
 * POST /event and the realtime WebSocket on /event/realtime, with the
 * API's and each namespace's authorization modes (API key, Cognito user
 * pool tokens, IAM SigV4), the namespaces' onSubscribe / onPublish rules
 * (chanrule.h) and delivery through one hub per API (hub.h).
 *
 * Config section "events" (svc_events.c describes every member).
 */
#ifndef KAERI_SVC_EVENTS_H
#define KAERI_SVC_EVENTS_H

#include "services.h"

extern const struct service svc_events;

#endif
