/* Temporary directories of the tests. */
#ifndef RP_TEST_TMPFILES_H
#define RP_TEST_TMPFILES_H

/* rm -r: `path` and everything under it. */
void remove_tree(const char *path);

/* The whole file as a NUL-terminated malloc'd string; NULL when it cannot be read. */
char *read_file(const char *path);

/* DIR/NAME parsed (rp_exp_read_json), for cJSON_Delete; fails the test when it cannot be. */
struct cJSON *read_json_in(const char *dir, const char *name);

#endif
