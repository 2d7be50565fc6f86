//go:build !race

package ann_test

const shrink = 1
