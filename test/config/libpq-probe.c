/*
 * libpq-probe: shows how the real libpq reads a connection string, to check test/config/*.test.ts
 * rows marked "libpq". Not built or run by the tests.
 *
 *   gcc -o /tmp/libpq-probe test/config/libpq-probe.c -I/usr/include/postgresql -lpq
 *   env -i HOME=/tmp/empty /tmp/libpq-probe parse "postgresql://u@h/db?sslmode=require"   # libpq 15
 *   env -i HOME=/tmp/empty LD_LIBRARY_PATH=node_modules/pg-bin-18/native/lib \
 *     /tmp/libpq-probe conn "host=127.0.0.1 port=1 sslnegotiation=direct" all            # libpq 18
 *
 * `parse` prints PQconninfoParse's options (or its error); `conn` runs PQconnectStart and prints the
 * status, the error, PQhost/PQport/PQdb/PQuser/PQpass and, with a third argument, PQconninfo. Use
 * only 127.0.0.1/::1 hosts, hostaddr, or socket directories: a host name would be resolved.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <libpq-fe.h>
static void show(const char *s){ if(!s){printf("(null)");return;} putchar('"'); for(;*s;s++){ if(*s=='\n') printf("\\n"); else putchar(*s);} putchar('"'); }
int main(int argc, char **argv){
  if(argc<3){fprintf(stderr,"usage: pqprobe parse|conn|defaults conninfo\n");return 2;}
  if(strcmp(argv[1],"parse")==0){
    char *err=NULL; PQconninfoOption *o=PQconninfoParse(argv[2],&err);
    if(!o){printf("ERROR: "); show(err); printf("\n"); return 1;}
    for(PQconninfoOption *p=o;p->keyword;p++) if(p->val){printf("%s=",p->keyword); show(p->val); printf("\n");}
    return 0;
  }
  if(strcmp(argv[1],"defaults")==0){
    PQconninfoOption *o=PQconndefaults();
    for(PQconninfoOption *p=o;p->keyword;p++) if(p->val){printf("%s=",p->keyword); show(p->val); printf("\n");}
    return 0;
  }
  PGconn *c=PQconnectStart(argv[2]);
  printf("status=%s\n", PQstatus(c)==CONNECTION_BAD?"BAD":"started");
  printf("error="); show(PQerrorMessage(c)); printf("\n");
  printf("host="); show(PQhost(c)); printf("\nport="); show(PQport(c)); printf("\ndb="); show(PQdb(c));
  printf("\nuser="); show(PQuser(c)); printf("\npass="); show(PQpass(c)); printf("\n");
  PQconninfoOption *o=PQconninfo(c);
  if(o) for(PQconninfoOption *p=o;p->keyword;p++) if(p->val && argc>3){printf("  %s=",p->keyword); show(p->val); printf("\n");}
  PQfinish(c);
  return 0;
}
