/* lwIP httpd's built-in file list, empty: the notifier serves every file itself (custom files). */
#define FS_ROOT     NULL
#define FS_NUMFILES 0
