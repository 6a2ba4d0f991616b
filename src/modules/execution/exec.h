/*
 * exec.h — the engine without the server, for benchmarks: one execution.db in a
 * folder, definitions compiled from XML and registered directly (no Process Design),
 * instances run to their wait states with durable state, one transaction each (the
 * outbox rows are written as in `serve`; nothing drains them here).
 */
#ifndef EXEC_H
#define EXEC_H

#include <stddef.h>

int exec_bench_open(const char *data_dir);     /* opens and migrates <data_dir>/execution.db */
/* Compiles xml and registers it as version 1 of process_id (tenant "default"). */
int exec_bench_deploy(const char *xml, size_t len, const char *process_id);
/* Starts one instance with vars_json (may be NULL); state_out gets its state after the
 * commit ("completed" for a process without wait states). */
int exec_bench_start(const char *process_id, const char *vars_json, char state_out[16]);
void exec_bench_close(void);

#endif
