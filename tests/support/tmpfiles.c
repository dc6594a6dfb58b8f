#include "support/tmpfiles.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void remove_tree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    for (struct dirent *e; (e = readdir(d));) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char p[4096];
      snprintf(p, sizeof p, "%s/%s", path, e->d_name);
      remove_tree(p);
    }
    closedir(d);
    rmdir(path);
  } else {
    remove(path);
  }
}
