package bench

import (
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// writeHeapProfile writes the heap in use after a GC to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Heap metrics read by the sampler.
const (
	// metricHeap is the bytes of heap objects, live or not yet swept:
	// runtime.MemStats.HeapAlloc without stopping the world.
	metricHeap = "/memory/classes/heap/objects:bytes"
	// metricLive is the heap the last GC cycle marked live.
	metricLive = "/gc/heap/live:bytes"
)

// HeapSampleInterval is how often the sampler reads the heap.
const HeapSampleInterval = 2 * time.Millisecond

// Heap is the peak heap of this process over a run.
type Heap struct {
	// Peak is the highest heap in use sampled (HeapAlloc: live objects
	// plus garbage not yet collected), which is what the process needs
	// from the system at GOGC=100.
	Peak uint64 `json:"peak_bytes"`
	// PeakLive is the highest live heap a GC cycle marked during the
	// run (or the live heap at its start if no cycle ran): what the
	// program really holds.
	PeakLive uint64 `json:"peak_live_bytes"`
	// GCs counts the GC cycles of the run.
	GCs uint64 `json:"gcs"`
}

// heapSampler reads the heap every HeapSampleInterval until stopped.
type heapSampler struct {
	stop chan struct{}
	done chan Heap
}

// sampleHeap collects garbage (so the run starts from what is live), then
// samples until stop is called.
func sampleHeap() *heapSampler {
	runtime.GC()
	s := &heapSampler{stop: make(chan struct{}), done: make(chan Heap, 1)}
	samples := []metrics.Sample{{Name: metricHeap}, {Name: metricLive}, {Name: "/gc/cycles/total:gc-cycles"}}
	read := func(h *Heap) uint64 {
		metrics.Read(samples)
		h.Peak = max(h.Peak, samples[0].Value.Uint64())
		h.PeakLive = max(h.PeakLive, samples[1].Value.Uint64())
		return samples[2].Value.Uint64()
	}
	var h Heap
	// The live heap of the GC just forced is the run's starting point.
	startGCs := read(&h)
	go func() {
		t := time.NewTicker(HeapSampleInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				read(&h)
			case <-s.stop:
				h.GCs = read(&h) - startGCs
				s.done <- h
				return
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peaks.
func (s *heapSampler) Stop() Heap {
	close(s.stop)
	return <-s.done
}
