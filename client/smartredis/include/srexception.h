/* srexception.h — SmartRedis 0.6.1 error codes, the last-error accessors and (C++) the exception
 * hierarchy SmartRedis throws. */
#ifndef SMARTREDIS_SREXCEPTION_H
#define SMARTREDIS_SREXCEPTION_H

#include <stdio.h>
#include <stdlib.h>
#include "sr_enums.h"

typedef enum {
    SRNoError = 0,        /* no error */
    SRBadAllocError = 1,  /* memory allocation failed */
    SRDatabaseError = 2,  /* the database or the connection to it failed */
    SRInternalError = 3,  /* internal error of the library */
    SRRuntimeError = 4,   /* an operation failed at run time */
    SRParameterError = 5, /* bad argument or configuration */
    SRTimeoutError = 6,   /* timed out */
    SRKeyError = 7,       /* key, tensor, dataset or field not found */
    SRInvalidError = 8,   /* uninitialised error value */
    SRTypeError = 9       /* type mismatch */
} SRError;

#ifdef __cplusplus
extern "C" {
#endif
/* Message of the last error raised in the calling thread ("" when none). */
const char* SRGetLastError(void);
/* Where the last error was raised ("" when none). */
const char* SRGetLastErrorLocation(void);
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
#include <exception>
#include <string>

namespace SmartRedis {

/* Base of every exception the library throws; what() is the message, where() the location. */
class Exception : public std::exception {
  public:
    Exception(const char* what_arg) : _msg(what_arg), _loc("unavailable") {}
    Exception(const char* what_arg, const char* file, int line)
        : _msg(what_arg), _loc(std::string("\"") + file + "\", line " + std::to_string(line)) {}
    Exception(const std::string& what_arg, const char* file, int line)
        : _msg(what_arg), _loc(std::string("\"") + file + "\", line " + std::to_string(line)) {}
    /* eddylearn: message and location as text (the location of a failed C call is its name) */
    Exception(const std::string& what_arg, const std::string& location)
        : _msg(what_arg), _loc(location) {}
    Exception(const Exception& other) noexcept = default;
    Exception(const std::exception& other) noexcept : _msg(other.what()) {}
    Exception& operator=(const Exception& other) = default;
    Exception(Exception&& other) = default;
    Exception& operator=(Exception&& other) = default;
    virtual ~Exception() override = default;
    virtual SRError to_error_code() const noexcept { return SRInvalidError; }
    virtual std::string exception_class() { return "Exception"; }
    const char* what() const noexcept override { return _msg.c_str(); }
    virtual const char* where() const noexcept { return _loc.c_str(); }

  protected:
    std::string _msg;
    std::string _loc;
};

#define SR_EXCEPTION_CLASS(NAME, CODE)                                      \
    class NAME : public Exception {                                         \
      public:                                                               \
        using Exception::Exception;                                         \
        SRError to_error_code() const noexcept override { return CODE; }    \
        std::string exception_class() override { return #NAME; }            \
    };
SR_EXCEPTION_CLASS(BadAllocException, SRBadAllocError)
SR_EXCEPTION_CLASS(DatabaseException, SRDatabaseError)
SR_EXCEPTION_CLASS(RuntimeException, SRRuntimeError)
SR_EXCEPTION_CLASS(ParameterException, SRParameterError)
SR_EXCEPTION_CLASS(TimeoutException, SRTimeoutError)
SR_EXCEPTION_CLASS(InternalException, SRInternalError)
SR_EXCEPTION_CLASS(KeyException, SRKeyError)
SR_EXCEPTION_CLASS(TypeException, SRTypeError)
#undef SR_EXCEPTION_CLASS

#define SRBadAllocException(txt) BadAllocException(txt, __FILE__, __LINE__)
#define SRDatabaseException(txt) DatabaseException(txt, __FILE__, __LINE__)
#define SRRuntimeException(txt) RuntimeException(txt, __FILE__, __LINE__)
#define SRParameterException(txt) ParameterException(txt, __FILE__, __LINE__)
#define SRTimeoutException(txt) TimeoutException(txt, __FILE__, __LINE__)
#define SRInternalException(txt) InternalException(txt, __FILE__, __LINE__)
#define SRKeyException(txt) KeyException(txt, __FILE__, __LINE__)
#define SRTypeException(txt) TypeException(txt, __FILE__, __LINE__)

/* Throw the exception matching an SRError code, with the calling thread's last error message
 * (used by the C++ classes over the C functions). No-op for SRNoError. */
void sr_throw_on_error(SRError code);

}  // namespace SmartRedis
#endif /* __cplusplus */
#endif /* SMARTREDIS_SREXCEPTION_H */
