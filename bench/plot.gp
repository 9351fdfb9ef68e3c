# SPDX-License-Identifier: GPL-2.0
#
# The plots of `make bench`, from the .dat files bench.py writes:
#   gnuplot -e "out='build/bench'; fanout=1; probe=1" bench/plot.gp

set terminal pngcairo size 720,440 font ",10" noenhanced
set grid
set key top left

if (fanout) {
	set output out.'/fanout.png'
	set title "sysgenid fan-out: bump to last confirmation (QEMU TCG guest)"
	set logscale xy
	set xlabel "watchers N"
	set ylabel "microseconds"
	set format x "%.0s%c"
	plot out.'/fanout.dat' using 1:2 with linespoints lw 2 pt 7 lc 1 \
		title "sysgenid: threads in one epoll set", \
	     '' using 1:3 with linespoints lw 2 pt 5 lc 2 \
		title "sysgenid: processes blocked in read()", \
	     '' using 1:4 with linespoints dt 2 pt 6 lc 1 \
		title "control: threads on a futex", \
	     '' using 1:5 with linespoints dt 2 pt 4 lc 2 \
		title "control: processes on a futex"
}

if (probe) {
	unset logscale
	set output out.'/probe.png'
	set title "sysgenid probe cost (QEMU TCG guest)"
	set logscale y
	set xlabel ""
	set ylabel "nanoseconds per call"
	set format x "%g"
	set style fill solid 0.6
	set boxwidth 0.6
	set key off
	plot out.'/probe.dat' using 0:2:xtic(1) with boxes
}
