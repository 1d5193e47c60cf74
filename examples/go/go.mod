module example.org/netsift-glutton

go 1.19
