/*
 * feel_hash.c — hashing by FEEL equality, so that list built-ins which look for repeats
 * (distinct values, union) take one pass over a hash table instead of comparing every
 * pair. The hash must agree with feel_equal (feel_value.c): whatever it calls equal
 * hashes alike. So a number hashes its canonical decimal (1, 1.0 and 1.00 are one
 * value), a time or date and time hashes its instant (12:00Z and 13:00+01:00 are
 * equal), a context hashes its entries in any order, and a range its bounds, its
 * closedness and whether an end is open. Values of different types are never equal,
 * so the type goes into the hash too. Collisions are settled by feel_equal.
 */
#include "feel_int.h"

#include <stdlib.h>
#include <string.h>

#define HASH_DEPTH 32   /* deeper nesting hashes as one constant (still consistent) */

static uint64_t mix(uint64_t h, uint64_t x)
{
    /* splitmix64 finaliser over the running hash */
    x += h + 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t feel_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_i128(uint64_t h, __int128 x)
{
    return mix(mix(h, (uint64_t)x), (uint64_t)((unsigned __int128)x >> 64));
}

/* c * 10^e with the trailing zeros of c moved into e: one form per value */
static uint64_t hash_dec(uint64_t h, feel_dec_t d)
{
    if (d.c == 0)
        return mix(h, 0);
    while (d.c % 10 == 0) {
        d.c /= 10;
        d.e++;
    }
    return mix(hash_i128(h, d.c), (uint64_t)(int64_t)d.e);
}

static uint64_t hash_at(const feel_value_t *v, uint64_t *work, int depth)
{
    (*work)++;
    uint64_t h = mix(0, (uint64_t)v->t);
    if (depth >= HASH_DEPTH)
        return h;
    switch (v->t) {
    case FEEL_NULL:
        return h;
    case FEEL_BOOL:
        return mix(h, v->u.b);
    case FEEL_NUM:
    case FEEL_DTD:
        return hash_dec(h, v->u.n);
    case FEEL_STR:
        *work += v->u.str.len / 64;
        return mix(h, feel_hash_bytes(v->u.str.s, v->u.str.len));
    case FEEL_YMD:
        return mix(h, (uint64_t)v->u.months);
    case FEEL_DATE:
        return mix(h, (uint64_t)v->u.tm.days);
    case FEEL_TIME:
    case FEEL_DT: {
        __int128 x;
        h = mix(h, v->u.tm.has_tz);
        return feel_dt_instant(v, &x) ? hash_i128(h, x) : h;
    }
    case FEEL_LIST:
        h = mix(h, v->u.list.n);
        for (size_t i = 0; i < v->u.list.n; i++)
            h = mix(h, hash_at(v->u.list.items[i], work, depth + 1));
        return h;
    case FEEL_CTX: {
        uint64_t sum = 0;   /* a sum: the order of the entries does not matter */
        for (size_t i = 0; i < v->u.ctx.n; i++) {
            const char *k = v->u.ctx.keys[i];
            sum += mix(feel_hash_bytes(k, strlen(k)), hash_at(v->u.ctx.vals[i], work, depth + 1));
        }
        return mix(mix(h, v->u.ctx.n), sum);
    }
    case FEEL_RANGE: {
        h = mix(h, (uint64_t)v->u.range.lo_closed | (uint64_t)v->u.range.hi_closed << 1 |
                       (uint64_t)(unsigned char)v->u.range.ut << 2);
        const feel_value_t *end[2] = { v->u.range.lo, v->u.range.hi };
        for (int i = 0; i < 2; i++)
            h = end[i] == feel_unbounded() ? mix(h, 0x55) : mix(h, hash_at(end[i], work, depth + 1));
        return h;
    }
    case FEEL_FN:
        return mix(h, (uint64_t)(uintptr_t)v);     /* functions are equal only to themselves */
    default:
        return h;
    }
}

uint64_t feel_hash(const feel_value_t *v, uint64_t *work)
{
    return hash_at(v, work, 0);
}

feel_value_t *feel_distinct(feel_eval_t *ev, feel_value_t *const *items, size_t n)
{
    /* every item costs at least a step: refuse at once what the budget cannot pay for,
     * which also bounds the table below */
    if (ev->steps + n > ev->lim.max_steps) {
        feel_charge(ev, n);
        return feel_null();
    }
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    /* The table is scratch, freed before returning (outside the arena, which frees
     * nothing before the run ends: a loop over distinct values would fill it).
     * slot[] holds 1 + a position in out[]; hashes[] each kept item's hash. */
    size_t *slot = calloc(cap, sizeof(*slot));
    uint64_t *hashes = malloc((n + 1) * sizeof(*hashes));
    feel_value_t **out = malloc((n + 1) * sizeof(*out));
    feel_value_t *res = NULL;
    if (!slot || !hashes || !out) {
        res = feel_err(ev, "evaluation memory limit reached (no memory for distinct values)");
        goto cleanup;
    }
    size_t no = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t work = 0, h = feel_hash(items[i], &work), cost = work;
        size_t s = (size_t)h & (cap - 1);
        bool dup = false;
        for (; slot[s] && !dup; s = (s + 1) & (cap - 1)) {
            size_t k = slot[s] - 1;
            if (hashes[k] != h)
                continue;
            cost += work;   /* a comparison walks the item again (and equal hashes of
                             * unequal items, nested below HASH_DEPTH, pay each time) */
            dup = feel_equal(out[k], items[i]) == 1;
        }
        if (!feel_charge(ev, cost)) {
            res = feel_null();
            goto cleanup;
        }
        if (dup)
            continue;
        slot[s] = no + 1;
        hashes[no] = h;
        out[no++] = items[i];
    }
    res = feel_list_from(ev, out, no);
cleanup:
    free(slot);
    free(hashes);
    free(out);
    return res;
}
