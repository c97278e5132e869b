/**
 * Parareal networks against the plans that keep the model: {@link
 * org.shardplan.bench.parareal.PararealBenchmark} writes benchmarks/results/parareal.md, and {@link
 * org.shardplan.bench.parareal.CnnGraphs} builds the VGG-16 and CIFAR ResNet-110 graphs it plans.
 */
package org.shardplan.bench.parareal;
