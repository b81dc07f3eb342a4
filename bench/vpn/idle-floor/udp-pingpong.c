// The idle round-trip floor on this VM (issue 19 item 7, session 9): a UDP echo server (s) and a client (c)
// that sends N 100-byte pings INTERVAL_S apart and prints the median RTT; spin=1 polls with MSG_DONTWAIT
// instead of sleeping in recv. Build: gcc -O2 -o /tmp/udp-pingpong udp-pingpong.c
//   udp-pingpong s ADDR PORT SPIN | udp-pingpong c ADDR PORT SPIN N INTERVAL_S
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int c,char**v){
  int s=socket(AF_INET,SOCK_DGRAM,0); struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(atoi(v[3]))};
  inet_pton(AF_INET,v[2],&a.sin_addr); char buf[2000]; int spin=atoi(v[4]);
  if(!strcmp(v[1],"s")){ bind(s,(void*)&a,sizeof a); for(;;){ struct sockaddr_in f; socklen_t fl=sizeof f; int n;
      if(spin){ while((n=recvfrom(s,buf,sizeof buf,MSG_DONTWAIT,(void*)&f,&fl))<0); } else n=recvfrom(s,buf,sizeof buf,0,(void*)&f,&fl);
      sendto(s,buf,n,0,(void*)&f,fl);} }
  int N=atoi(v[5]); double iv=atof(v[6]); double *r=calloc(N,sizeof(double));
  for(int i=0;i<N;i++){ double t0=now(); sendto(s,buf,100,0,(void*)&a,sizeof a); int n;
    if(spin){ while((n=recv(s,buf,sizeof buf,MSG_DONTWAIT))<0); } else n=recv(s,buf,sizeof buf,0);
    r[i]=now()-t0; usleep((useconds_t)(iv*1e6)); }
  qsort(r,N,sizeof(double),cmp); printf("median %.3f ms min %.3f max %.3f\n",r[N/2],r[0],r[N-1]); return 0; }
