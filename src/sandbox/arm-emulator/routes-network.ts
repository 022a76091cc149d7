/**
 * Network interface routes. Uniform scale sets' NICs are not top-level resources: they are read
 * through `…/virtualMachineScaleSets/{vmss}/networkInterfaces` (served by Microsoft.Network under a
 * Microsoft.Compute path, api-version 2018-10-01 in `@azure/arm-network`). Flexible VMs' NICs are
 * ordinary `Microsoft.Network/networkInterfaces` in the scale set's resource group.
 */
import { ArmEmulatorError, notFound } from './arm-error';
import { nicJson } from './arm-json';
import { numericKey } from './paging';
import { paged, param, requireScaleSet, requireScope, route } from './router';
import type { Route, RouteContext } from './router';
import type { EmulatedInstance, EmulatedNic, EmulatedScaleSet } from './world-types';

const SUB = '/subscriptions/{sub}';
const RG = `${SUB}/resourceGroups/{rg}`;
const VMSS = `${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}`;

interface NicOfVm {
  readonly nic: EmulatedNic;
  readonly vm: EmulatedInstance;
}

function nicsOf(vms: readonly EmulatedInstance[]): NicOfVm[] {
  const nics: NicOfVm[] = [];
  for (const vm of vms) for (const nic of vm.nics) nics.push({ nic, vm });
  return nics;
}

/** Renders NICs; each scale set is read once per request, not once per NIC. */
function render(ctx: RouteContext) {
  const scaleSets = new Map<string, EmulatedScaleSet | undefined>();
  return ({ nic, vm }: NicOfVm) => {
    if (!scaleSets.has(vm.scaleSetId)) scaleSets.set(vm.scaleSetId, ctx.world.getScaleSet(vm.scaleSetId));
    const ss = scaleSets.get(vm.scaleSetId);
    return ss ? nicJson(nic, vm, ss, ctx.json) : undefined;
  };
}

function requireUniform(ctx: RouteContext): EmulatedScaleSet {
  const ss = requireScaleSet(ctx);
  if (ss.orchestrationMode !== 'Uniform') {
    throw new ArmEmulatorError(409, 'OperationNotAllowed', `Listing network interfaces through scale set '${ss.name}' is not supported in Flexible orchestration mode; list Microsoft.Network/networkInterfaces instead.`);
  }
  return ss;
}

function uniformVms(ctx: RouteContext): readonly EmulatedInstance[] {
  const ss = requireUniform(ctx);
  return ctx.world.viewInstances(ss.id);
}

function uniformVm(ctx: RouteContext): EmulatedInstance {
  const ss = requireUniform(ctx);
  const vm = ctx.world.viewInstance(ss.id, param(ctx, 'instanceId'));
  if (!vm) throw notFound('NotFound', `The entity was not found in this resource group: instance '${param(ctx, 'instanceId')}'.`);
  return vm;
}

const byVmThenNic = ({ nic, vm }: NicOfVm): string => `${numericKey(vm.instanceId)}/${nic.name.toLowerCase()}`;

export const networkRoutes: readonly Route[] = [
  route('vmssNic.list', 'GET', `${VMSS}/networkInterfaces`, (ctx) => paged(ctx, nicsOf(uniformVms(ctx)), byVmThenNic, render(ctx))),
  route('vmssVmNic.list', 'GET', `${VMSS}/virtualMachines/{instanceId}/networkInterfaces`, (ctx) => paged(ctx, nicsOf([uniformVm(ctx)]), byVmThenNic, render(ctx))),
  route('vmssVmNic.get', 'GET', `${VMSS}/virtualMachines/{instanceId}/networkInterfaces/{nic}`, (ctx) => {
    const vm = uniformVm(ctx);
    const nic = vm.nics.find((n) => n.name.toLowerCase() === param(ctx, 'nic').toLowerCase());
    if (!nic) throw notFound('NotFound', `Network interface '${param(ctx, 'nic')}' of instance '${vm.instanceId}' was not found.`);
    return { status: 200, body: render(ctx)({ nic, vm }) };
  }),
  route('nic.listAll', 'GET', `${SUB}/providers/Microsoft.Network/networkInterfaces`, (ctx) => {
    requireScope(ctx);
    return paged(ctx, () => nicsOf(ctx.world.viewFlexibleVms(param(ctx, 'sub'))), ({ nic }) => nic.id.toLowerCase(), render(ctx));
  }),
  route('nic.list', 'GET', `${RG}/providers/Microsoft.Network/networkInterfaces`, (ctx) => {
    requireScope(ctx);
    return paged(ctx, () => nicsOf(ctx.world.viewFlexibleVms(param(ctx, 'sub'), param(ctx, 'rg'))), ({ nic }) => nic.id.toLowerCase(), render(ctx));
  }),
  route('nic.get', 'GET', `${RG}/providers/Microsoft.Network/networkInterfaces/{nic}`, (ctx) => {
    requireScope(ctx);
    const hit = ctx.world.viewFlexibleNic(param(ctx, 'sub'), param(ctx, 'rg'), param(ctx, 'nic'));
    if (!hit) {
      throw notFound(
        'ResourceNotFound',
        `The Resource 'Microsoft.Network/networkInterfaces/${param(ctx, 'nic')}' under resource group '${param(ctx, 'rg')}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
    }
    return { status: 200, body: render(ctx)(hit) };
  }),
];
