/*
 * fm_sign.h — the signature FlowMaster puts on the webhooks it sends (Event Bus
 * subscriptions, the Notification Service's webhook channel): the header
 *   X-FlowMaster-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * as documented in docs/eventbus.md. A receiver recomputes v1 and checks t is recent.
 */
#ifndef FM_SIGN_H
#define FM_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define FM_SIGN_HEADER "X-FlowMaster-Signature"

/* Writes the header value ("t=…,v1=…") for body signed at t_s into out (≥ 96 bytes). */
void fm_sign_value(const char *secret, const char *body, int64_t t_s, char *out, size_t len);

#endif
