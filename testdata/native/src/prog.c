#include <stdio.h>
#include <stdlib.h>

static int sq(int x) { return x * x; }

static inline int helper(int x) { return sq(x) + 1; }

__attribute__((noinline)) int work(int n) {
  int s = 0;
  for (int i = 0; i < n; i++)
    s += helper(i) ^ (s >> 3);
  return s;
}

__attribute__((noinline)) long mix(long a, int n) {
  long h = a;
  for (int i = 0; i < n; i++)
    h = h * 31 + (h >> 7) + i;
  return h;
}

__attribute__((noinline)) int other(int n) {
  int w = work(n);
  long m = mix(n, n);
  return w * 3 + (int)m;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  int a = other(n);
  int b = work(n / 2);
  printf("%d\n", a + b);
  return 0;
}
