/*
 * feel_dec.c — FEEL numbers: decimals with a 128-bit significand and a base-10
 * exponent, rounded half-even to 34 significant digits after every operation (the
 * precision of IEEE 754 decimal128, which DMN names). Addition, subtraction and
 * division are exact to 34 digits. A product whose exact significand would need more
 * than 38 digits has its operands rounded first (so it is exact to at least 19
 * digits); docs/rules.md records this. Exponents stay within ±6111 or the operation
 * fails (FEEL null).
 */
#include "feel.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define PREC 34
#define EMAX 6111

typedef __int128 i128;
typedef unsigned __int128 u128;

static u128 pow10u(int n)
{
    u128 p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

static int digits(u128 v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static u128 uabs(i128 v)
{
    return v < 0 ? (u128)0 - (u128)v : (u128)v;
}

/* Divides |c| by 10^k with rounding mode (see feel.h); sign applied after. */
static i128 shift_round(i128 c, int k, char mode)
{
    if (k <= 0)
        return c;
    bool neg = c < 0;
    u128 m = uabs(c);
    if (k > 38)
        return (mode == 'u' || (mode == 'f' && neg) || (mode == 'c' && !neg)) && m ? (neg ? -1 : 1) : 0;
    u128 p = pow10u(k), q = m / p, r = m % p, half = p / 2;
    bool up = false;
    switch (mode) {
    case 'e': up = r > half || (r == half && (q & 1)); break;
    case 'U': up = r >= half; break;
    case 'D': up = r > half; break;
    case 'u': up = r != 0; break;
    case 'd': up = false; break;
    case 'f': up = neg && r != 0; break;
    case 'c': up = !neg && r != 0; break;
    }
    if (up)
        q++;
    return neg ? -(i128)q : (i128)q;
}

/* Brings d to at most PREC digits and strips nothing else. */
static bool norm(feel_dec_t *d)
{
    u128 m = uabs(d->c);
    if (m == 0) {
        d->e = 0;
        return true;
    }
    int n = digits(m);
    if (n > PREC) {
        int k = n - PREC;
        d->c = shift_round(d->c, k, 'e');
        d->e += k;
        if (uabs(d->c) >= pow10u(PREC)) {
            d->c /= 10;
            d->e += 1;
        }
    }
    /* keep exponents small: strip trailing zeros when the exponent is negative */
    while (d->e < 0 && d->c % 10 == 0) {
        d->c /= 10;
        d->e++;
    }
    if (d->e < -EMAX - PREC) {  /* underflow: zero */
        d->c = 0;
        d->e = 0;
    }
    return d->e <= EMAX;
}

feel_dec_t feel_dec_from_int(int64_t i)
{
    feel_dec_t d = { i, 0 };
    return d;
}

bool feel_dec_parse(const char *s, size_t len, feel_dec_t *out)
{
    size_t i = 0;
    bool neg = false, any = false;
    i128 c = 0;
    int32_t e = 0, extra = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = true;
        if (uabs(c) < pow10u(37))
            c = c * 10 + (s[i] - '0');
        else
            extra++;
    }
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = true;
            if (uabs(c) < pow10u(37)) {
                c = c * 10 + (s[i] - '0');
                e--;
            }
        }
    }
    if (!any)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        long x = 0;
        bool ed = false;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            ed = true;
            if (x < 100000)
                x = x * 10 + (s[i] - '0');
        }
        if (!ed)
            return false;
        e += (int32_t)(eneg ? -x : x);
    }
    if (i != len)
        return false;
    out->c = neg ? -c : c;
    out->e = e + extra;
    return norm(out);
}

void feel_dec_format(feel_dec_t d, char *buf, size_t len)
{
    char dig[64];
    u128 m = uabs(d.c);
    int n = 0;
    /* strip trailing zeros for a canonical form */
    while (m != 0 && m % 10 == 0) {
        m /= 10;
        d.e++;
    }
    if (m == 0) {
        snprintf(buf, len, "0");
        return;
    }
    char tmp[64];
    while (m) {
        tmp[n++] = (char)('0' + (int)(m % 10));
        m /= 10;
    }
    for (int i = 0; i < n; i++)
        dig[i] = tmp[n - 1 - i];
    dig[n] = 0;
    const char *sign = d.c < 0 ? "-" : "";
    if (d.e >= 0) {
        if (n + d.e > 60) {
            snprintf(buf, len, "%s%sE+%d", sign, dig, d.e);
            return;
        }
        snprintf(buf, len, "%s%s%0*d", sign, dig, d.e, 0);
        if (d.e == 0)
            snprintf(buf, len, "%s%s", sign, dig);
        else {
            size_t o = (size_t)snprintf(buf, len, "%s%s", sign, dig);
            for (int i = 0; i < d.e && o + 1 < len; i++)
                buf[o++] = '0';
            buf[o < len ? o : len - 1] = 0;
        }
        return;
    }
    int frac = -d.e;
    if (frac > 60) {
        snprintf(buf, len, "%s%sE%d", sign, dig, d.e);
        return;
    }
    if (frac >= n)
        snprintf(buf, len, "%s0.%0*d%s", sign, frac - n, 0, dig);
    else
        snprintf(buf, len, "%s%.*s.%s", sign, n - frac, dig, dig + (n - frac));
    if (frac - n == 0 && frac >= n) /* "%0*d" with width 0 prints "0": redo */
        snprintf(buf, len, "%s0.%s", sign, dig);
}

/* Aligns exponents: returns false when the sum cannot be represented. */
bool feel_dec_add(feel_dec_t a, feel_dec_t b, feel_dec_t *r)
{
    if (a.c == 0) {
        *r = b;
        return norm(r);
    }
    if (b.c == 0) {
        *r = a;
        return norm(r);
    }
    if (a.e < b.e) {
        feel_dec_t t = a;
        a = b;
        b = t;
    }
    /* a has the larger exponent: scale a up as far as safe, round b down the rest */
    while (a.e > b.e && uabs(a.c) < pow10u(36)) {
        a.c *= 10;
        a.e--;
    }
    if (a.e > b.e) {
        int k = a.e - b.e;
        b.c = shift_round(b.c, k, 'e');
        b.e = a.e;
    }
    r->c = a.c + b.c;
    r->e = a.e;
    return norm(r);
}

bool feel_dec_sub(feel_dec_t a, feel_dec_t b, feel_dec_t *r)
{
    b.c = -b.c;
    return feel_dec_add(a, b, r);
}

static void strip(feel_dec_t *d)
{
    while (d->c != 0 && d->c % 10 == 0) {
        d->c /= 10;
        d->e++;
    }
}

/* 4 x 64-bit limbs, little endian: the exact product of two significands. */
static bool limbs_zero_above(const uint64_t *l, int k)
{
    for (int i = k; i < 4; i++)
        if (l[i])
            return false;
    return true;
}

static unsigned limbs_div10(uint64_t *l)
{
    u128 rem = 0;
    for (int i = 3; i >= 0; i--) {
        u128 cur = (rem << 64) | l[i];
        l[i] = (uint64_t)(cur / 10);
        rem = cur % 10;
    }
    return (unsigned)rem;
}

bool feel_dec_mul(feel_dec_t a, feel_dec_t b, feel_dec_t *r)
{
    strip(&a);
    strip(&b);
    bool neg = (a.c < 0) != (b.c < 0);
    u128 x = uabs(a.c), y = uabs(b.c);
    int32_t e = a.e + b.e;
    if (digits(x) + digits(y) <= 38) {
        r->c = (i128)(x * y);
        if (neg)
            r->c = -r->c;
        r->e = e;
        return norm(r);
    }
    uint64_t xl[2] = { (uint64_t)x, (uint64_t)(x >> 64) }, yl[2] = { (uint64_t)y, (uint64_t)(y >> 64) };
    uint64_t p[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < 2; i++) {
        u128 carry = 0;
        for (int j = 0; j < 2; j++) {
            u128 t = (u128)xl[i] * yl[j] + p[i + j] + carry;
            p[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        for (int k = i + 2; carry && k < 4; k++) {
            u128 t = (u128)p[k] + carry;
            p[k] = (uint64_t)t;
            carry = t >> 64;
        }
    }
    /* divide down to 34 digits, rounding half-even with a sticky bit */
    unsigned last = 0;
    bool sticky = false;
    const u128 lim = pow10u(PREC);
    while (!limbs_zero_above(p, 2) || (((u128)p[1] << 64) | p[0]) >= lim) {
        if (last)
            sticky = true;
        last = limbs_div10(p);
        e++;
    }
    u128 q = ((u128)p[1] << 64) | p[0];
    if (last > 5 || (last == 5 && (sticky || (q & 1))))
        q++;
    if (q >= lim) {
        q /= 10;
        e++;
    }
    r->c = neg ? -(i128)q : (i128)q;
    r->e = e;
    return norm(r);
}

bool feel_dec_div(feel_dec_t a, feel_dec_t b, feel_dec_t *r)
{
    if (b.c == 0)
        return false;
    strip(&b);
    bool neg = (a.c < 0) != (b.c < 0);
    u128 x = uabs(a.c), y = uabs(b.c);
    int32_t e = a.e - b.e;
    u128 q = x / y, rem = x % y;
    /* long division until 35 digits (one guard digit) or exact */
    while (rem != 0 && (q == 0 || digits(q) < PREC + 1)) {
        rem *= 10;
        q = q * 10 + rem / y;
        rem %= y;
        e--;
    }
    i128 c = (i128)q;
    /* sticky bit: a non-zero remainder makes an exact half round up */
    if (rem != 0 && digits(q) > PREC) {
        int k = digits(q) - PREC;
        u128 p = pow10u(k), qq = q / p, rr = q % p;
        if (rr > p / 2 || (rr == p / 2))
            qq++;
        c = (i128)qq;
        e += k;
    }
    r->c = neg ? -c : c;
    r->e = e;
    return norm(r);
}

int feel_dec_cmp(feel_dec_t a, feel_dec_t b)
{
    feel_dec_t d;
    if (!feel_dec_sub(a, b, &d))
        return a.c < b.c ? -1 : 1;
    return d.c < 0 ? -1 : d.c > 0;
}

double feel_dec_to_double(feel_dec_t d)
{
    char buf[96];
    feel_dec_format(d, buf, sizeof(buf));
    double v;
    sscanf(buf, "%lf", &v);
    return v;
}

bool feel_dec_from_double(double x, feel_dec_t *out)
{
    if (!isfinite(x))
        return false;
    if (x == (double)(int64_t)x && x > -9007199254740992.0 && x < 9007199254740992.0) {
        out->c = (int64_t)x;    /* integers below 2^53 are exact: no printing */
        out->e = 0;
        return true;
    }
    /* the shortest representation that round-trips (most need 15 to 17 digits) */
    char buf[64];
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*g", p, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    /* 15 digits may still carry noise a shorter form avoids: 0.1 prints fine at 15 */
    return feel_dec_parse(buf, strlen(buf), out);
}

bool feel_dec_is_int(feel_dec_t d)
{
    strip(&d);
    return d.e >= 0 || d.c == 0;
}

bool feel_dec_to_int64(feel_dec_t d, int64_t *out)
{
    strip(&d);
    if (d.e < 0 && d.c != 0)
        return false;
    i128 c = d.c;
    for (int i = 0; i < d.e; i++) {
        if (uabs(c) > (u128)INT64_MAX)
            return false;
        c *= 10;
    }
    if (c > INT64_MAX || c < INT64_MIN)
        return false;
    *out = (int64_t)c;
    return true;
}

feel_dec_t feel_dec_round(feel_dec_t d, int32_t scale, char mode)
{
    int k = -scale - d.e;     /* digits to drop */
    if (k <= 0)
        return d;
    d.c = shift_round(d.c, k, mode);
    d.e = -scale;
    norm(&d);
    return d;
}
