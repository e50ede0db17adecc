/* A stand-in for the frozen hh-raiser.exe in the Windows installer's tests (built
   with mingw-w64, run under Wine): it appends its command line to the file named by
   HH_RAISER_STAND_IN_LOG and exits with HH_RAISER_STAND_IN_EXIT (default 0), so a test
   sees what the installer and uninstaller asked the app to do. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *log_path = getenv("HH_RAISER_STAND_IN_LOG");
    const char *exit_code = getenv("HH_RAISER_STAND_IN_EXIT");
    if (log_path) {
        FILE *log = fopen(log_path, "a");
        if (log) {
            for (int i = 1; i < argc; i++) fprintf(log, i > 1 ? " %s" : "%s", argv[i]);
            fputc('\n', log);
            fclose(log);
        }
    }
    return exit_code ? atoi(exit_code) : 0;
}
