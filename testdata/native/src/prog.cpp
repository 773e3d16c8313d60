#include <cstdio>
#include <vector>

namespace demo {

template <typename T> __attribute__((noinline)) T square(T x) {
  return x * x;
}

template <typename T> struct Acc {
  std::vector<T> v;
  __attribute__((noinline)) void push_all(int n);
  T total() const;
};

template <typename T> void Acc<T>::push_all(int n) {
  for (int i = 0; i < n; i++)
    v.push_back(square<T>(i));
}

template <typename T> T Acc<T>::total() const {
  T s = 0;
  for (auto x : v)
    s += x;
  return s;
}

__attribute__((noinline)) long run(int n) {
  Acc<long> a;
  a.push_all(n);
  return a.total();
}

} // namespace demo

int main(int argc, char **) {
  std::printf("%ld\n", demo::run(argc * 1000));
  return 0;
}
