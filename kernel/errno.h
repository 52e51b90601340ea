/* Error codes: functions return 0 or a negative value of these (errno-style, Linux numbering). */
#ifndef PETREL_ERRNO_H
#define PETREL_ERRNO_H

#define EPERM     1
#define ENOENT    2
#define EIO       5
#define E2BIG     7
#define EAGAIN    11
#define ENOMEM    12
#define EFAULT    14
#define EBUSY     16
#define EEXIST    17
#define ENODEV    19
#define EINVAL    22
#define ENOSPC    28
#define ERANGE    34
#define ENOSYS    38
#define ENODATA   61
#define EPROTO    71
#define EOVERFLOW 75
#define EMSGSIZE  90
#define ENOTSUP   95
#define ETIMEDOUT 110

const char *strerror_petrel(int err);

#endif
