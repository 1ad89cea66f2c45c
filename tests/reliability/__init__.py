"""The reliability suite: real `carebot run` processes under crashes, load, faults and abuse."""
