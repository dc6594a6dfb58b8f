/* Temporary directories of the tests. */
#ifndef RP_TEST_TMPFILES_H
#define RP_TEST_TMPFILES_H

/* rm -r: `path` and everything under it. */
void remove_tree(const char *path);

#endif
