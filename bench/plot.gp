# SPDX-License-Identifier: GPL-2.0
#
# The plots of `make bench`, from the .dat files bench.py writes:
#   gnuplot -e "out='build/bench'; fanout=1; probe=1" bench/plot.gp

set terminal pngcairo size 720,440 font ",10" noenhanced
set grid
set key top left

if (fanout) {
	# A line of slope 1 through the epoll figure at the largest N: how a
	# linear fan-out would look.
	stats out.'/fanout.dat' using 1:2 nooutput
	k = STATS_max_y / STATS_max_x / 1000
	set output out.'/fanout.png'
	set title "sysgenid fan-out: bump to last confirmation (QEMU TCG guest, median)"
	set logscale xy
	set xlabel "watchers N"
	set ylabel "milliseconds"
	set format x "%.0s%c"
	set format y "%g"
	plot out.'/fanout.dat' using 1:($2 / 1000) with linespoints lw 2 pt 7 lc 1 \
		title "sysgenid: threads in one epoll set", \
	     '' using 1:($3 / 1000) with linespoints lw 2 pt 5 lc 2 \
		title "sysgenid: processes blocked in read()", \
	     '' using 1:($4 / 1000) with linespoints dt 2 pt 6 lc 1 \
		title "control: threads on a futex", \
	     '' using 1:($5 / 1000) with linespoints dt 2 pt 4 lc 2 \
		title "control: processes on a futex", \
	     k * x with lines dt 3 lc rgb "gray" title "linear"
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
