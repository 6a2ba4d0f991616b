/*
 * integ_engine.h — what the execution engine needs from External Integration to run a
 * connector job on the loop: a call through a stored connector (`type="integration"`),
 * or through an unsaved one built from a task's inputs (the Camunda REST connector),
 * sent with fm_fetch without blocking any thread, then logged. Code: integ_engine.c.
 */
#ifndef INTEG_ENGINE_H
#define INTEG_ENGINE_H

#include "integ_int.h"

typedef struct integ_job integ_job_t;
/* Runs on the loop thread once the call is over (answer, failure or refusal). */
typedef void (*integ_job_cb)(integ_job_t *j, void *arg);

/* The stored connector `ref` (its id, else its name) of tenant; NULL with why when the
 * tenant has none by that id or name (another tenant's connector is never found). */
integ_job_t *integ_job_stored(const char *tenant, const char *ref, char *why, size_t wl);
/* A connector that is not stored: config and secrets as a stored one's (taken). `key`
 * identifies it in the OAuth token cache (the same endpoint and client share tokens). */
integ_job_t *integ_job_unsaved(const char *tenant, const char *key, cJSON *config, cJSON *secrets);
/* A job for the connector record c (copied; logged like a stored one). */
integ_job_t *integ_job_of(const integ_rec_t *c);
/* Before integ_job_send: retry transport errors, 429 and 5xx as the connector's "retry"
 * says (maxAttempts, backoffMs doubled per attempt up to a minute), on loop timers.
 * Without it a job makes one attempt (the engine's job retries decide). */
void integ_job_use_retry(integ_job_t *j);
/* Any thread: sends call (copied) with the connector's base URL, auth (an OAuth token
 * first when none is cached, one fresh token after a 401), default headers, timeouts,
 * TLS settings, size limit and private-address policy. cb runs exactly once, unless
 * this returns an error. */
int integ_job_send(integ_job_t *j, const integ_call_t *call, integ_job_cb cb, void *arg);
const integ_result_t *integ_job_result(const integ_job_t *j);
/* Worker thread: a stored connector's call goes into its call log (secrets redacted,
 * `origin` names the job), then j is freed. */
void integ_job_finish(integ_job_t *j, const char *origin);
/* The same, giving the log entry's id (call_id "" when nothing was logged). */
void integ_job_finish_id(integ_job_t *j, const char *origin, char *call_id, size_t idlen);

#endif
