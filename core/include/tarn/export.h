/* SPDX-License-Identifier: MIT */
#ifndef TARN_EXPORT_H
#define TARN_EXPORT_H

/*
 * libtarn is built with -fvisibility=hidden; only functions marked TARN_API
 * are exported, and core/libtarn.map lists each of them by name. A test
 * checks that the two agree with what the shared library really exports.
 */
#if defined(__GNUC__) || defined(__clang__)
#define TARN_API __attribute__((visibility("default")))
#define TARN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TARN_API
#define TARN_PRINTF(fmt, args)
#endif

#endif /* TARN_EXPORT_H */
