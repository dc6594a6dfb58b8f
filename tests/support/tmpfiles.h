/* Temporary directories of the tests. */
#ifndef RP_TEST_TMPFILES_H
#define RP_TEST_TMPFILES_H

/* rm -r: `path` and everything under it. */
void remove_tree(const char *path);

/* The whole file as a NUL-terminated malloc'd string; NULL when it cannot be read. */
char *read_file(const char *path);

#endif
