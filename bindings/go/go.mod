// SPDX-License-Identifier: LGPL-2.1-or-later
module sysgenid

go 1.19
