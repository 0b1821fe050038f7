/* sr_enums.h — SmartRedis 0.6.1 enumerations (same names and values), for the SmartRedis
 * source-compatible API of the eddylearn client. */
#ifndef SMARTREDIS_SR_ENUMS_H
#define SMARTREDIS_SR_ENUMS_H

/* memory layout of a user buffer */
typedef enum {
    SRMemLayoutInvalid = 0,
    SRMemLayoutNested = 1,            /* row-major, nested arrays of pointers */
    SRMemLayoutContiguous = 2,        /* row-major, one contiguous block */
    SRMemLayoutFortranNested = 3,     /* column-major, nested arrays of pointers */
    SRMemLayoutFortranContiguous = 4  /* column-major, one contiguous block */
} SRMemoryLayout;

/* metadata field types */
typedef enum {
    SRMetadataTypeInvalid = 0,
    SRMetadataTypeDouble = 1,
    SRMetadataTypeFloat = 2,
    SRMetadataTypeInt32 = 3,
    SRMetadataTypeInt64 = 4,
    SRMetadataTypeUint32 = 5,
    SRMetadataTypeUint64 = 6,
    SRMetadataTypeString = 7
} SRMetaDataType;

/* tensor element types */
typedef enum {
    SRTensorTypeInvalid = 0,
    SRTensorTypeDouble = 1,
    SRTensorTypeFloat = 2,
    SRTensorTypeInt8 = 3,
    SRTensorTypeInt16 = 4,
    SRTensorTypeInt32 = 5,
    SRTensorTypeInt64 = 6,
    SRTensorTypeUint8 = 7,
    SRTensorTypeUint16 = 8
} SRTensorType;

/* logging levels (SR_LOG_LEVEL: QUIET, INFO, DEBUG, DEVELOPER) */
typedef enum {
    LLInvalid = 0,
    LLQuiet = 1,
    LLInfo = 2,
    LLDebug = 3,
    LLDeveloper = 4
} SRLoggingLevel;

#endif /* SMARTREDIS_SR_ENUMS_H */
