/* Version strings; the Makefile passes the git revision. */
#ifndef PETREL_VERSION_H
#define PETREL_VERSION_H

#define PETREL_VERSION "0.1.0"
#if __has_include("build_config.h")
#include "build_config.h"
#endif
#ifndef PETREL_GIT
#define PETREL_GIT "unknown"
#endif

#endif
