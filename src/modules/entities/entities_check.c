/*
 * entities_check.c — pure checks of the Legal Entity Service: LEI check digits
 * (ISO 17442 / ISO 7064 MOD 97-10), VAT id shapes, calendar dates and validity windows.
 */
#include "entities_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

bool ent_lei_valid(const char *s, char *why, size_t wl)
{
    size_t n = strlen(s);
    if (n != 20) {
        snprintf(why, wl, "an LEI has 20 characters, this one %zu", n);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'A' && s[i] <= 'Z')) {
            snprintf(why, wl, "an LEI holds only digits and capital letters; character %zu is not one", i + 1);
            return false;
        }
    if (!isdigit((unsigned char)s[18]) || !isdigit((unsigned char)s[19])) {
        snprintf(why, wl, "the last two characters of an LEI are its check digits");
        return false;
    }
    /* Letters count as two digits (A = 10 … Z = 35); the whole number mod 97 must be 1. */
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = isdigit((unsigned char)s[i]) ? (unsigned)(s[i] - '0') : (unsigned)(s[i] - 'A' + 10);
        rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
    }
    if (rem != 1) {
        snprintf(why, wl, "the check digits of this LEI do not verify (ISO 17442: mod 97 gives %u, not 1)", rem);
        return false;
    }
    return true;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return s[n] == '\0';
}

bool ent_vat_valid(const char *s, char *why, size_t wl)
{
    size_t n = strlen(s);
    if (n < 4 || n > 15 || !(s[0] >= 'A' && s[0] <= 'Z') || !(s[1] >= 'A' && s[1] <= 'Z')) {
        snprintf(why, wl, "a VAT id starts with its two-letter country prefix (DE, FR, EL, …) and has 4 to 15 "
                          "characters");
        return false;
    }
    for (size_t i = 2; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'A' && s[i] <= 'Z')) {
            snprintf(why, wl, "after the country prefix a VAT id holds only digits and capital letters");
            return false;
        }
    /* The countries whose shape is one fixed run of digits. */
    static const struct {
        const char cc[3];
        int digits;
    } fixed[] = { { "DE", 9 }, { "AT", 0 }, { "BE", 10 }, { "DK", 8 }, { "FI", 8 }, { "EL", 9 }, { "PT", 9 },
                  { "SE", 12 }, { "SI", 8 }, { "HU", 8 }, { "LU", 8 }, { "PL", 10 } };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strncmp(s, fixed[i].cc, 2))
            continue;
        if (!fixed[i].digits) { /* AT: "U" and 8 digits */
            if (s[2] != 'U' || !all_digits(s + 3, 8)) {
                snprintf(why, wl, "an Austrian VAT id is ATU followed by 8 digits");
                return false;
            }
        } else if (!all_digits(s + 2, (size_t)fixed[i].digits)) {
            snprintf(why, wl, "a VAT id of %s has %d digits after the prefix", fixed[i].cc, fixed[i].digits);
            return false;
        }
        break;
    }
    return true;
}

bool ent_date_valid(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

bool ent_valid_on(const char *from, const char *to, const char *day)
{
    return (!from || strcmp(from, day) <= 0) && (!to || strcmp(day, to) <= 0);
}
