module profkit.bench/realheap

go 1.27
