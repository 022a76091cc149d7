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
import type { EmulatedInstance, EmulatedNic } from './world-types';

const SUB = '/subscriptions/{sub}';
const RG = `${SUB}/resourceGroups/{rg}`;
const VMSS = `${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}`;

interface NicOfVm {
  readonly nic: EmulatedNic;
  readonly vm: EmulatedInstance;
}

function nicsOf(vms: readonly EmulatedInstance[]): NicOfVm[] {
  return vms.flatMap((vm) => vm.nics.map((nic) => ({ nic, vm })));
}

function render(ctx: RouteContext) {
  return ({ nic, vm }: NicOfVm) => {
    const ss = ctx.world.getScaleSet(vm.scaleSetId);
    return ss ? nicJson(nic, vm, ss, ctx.json) : undefined;
  };
}

function uniformVms(ctx: RouteContext): EmulatedInstance[] {
  const ss = requireScaleSet(ctx);
  if (ss.orchestrationMode !== 'Uniform') {
    throw new ArmEmulatorError(409, 'OperationNotAllowed', `Listing network interfaces through scale set '${ss.name}' is not supported in Flexible orchestration mode; list Microsoft.Network/networkInterfaces instead.`);
  }
  return ctx.world.listInstances(ss.id);
}

function uniformVm(ctx: RouteContext): EmulatedInstance {
  const vm = uniformVms(ctx).find((i) => i.instanceId.toLowerCase() === param(ctx, 'instanceId').toLowerCase());
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
    return paged(ctx, nicsOf(ctx.world.listFlexibleVms(param(ctx, 'sub'))), ({ nic }) => nic.id.toLowerCase(), render(ctx));
  }),
  route('nic.list', 'GET', `${RG}/providers/Microsoft.Network/networkInterfaces`, (ctx) => {
    requireScope(ctx);
    return paged(ctx, nicsOf(ctx.world.listFlexibleVms(param(ctx, 'sub'), param(ctx, 'rg'))), ({ nic }) => nic.id.toLowerCase(), render(ctx));
  }),
  route('nic.get', 'GET', `${RG}/providers/Microsoft.Network/networkInterfaces/{nic}`, (ctx) => {
    requireScope(ctx);
    const name = param(ctx, 'nic').toLowerCase();
    const hit = nicsOf(ctx.world.listFlexibleVms(param(ctx, 'sub'), param(ctx, 'rg'))).find(({ nic }) => nic.name.toLowerCase() === name);
    if (!hit) {
      throw notFound(
        'ResourceNotFound',
        `The Resource 'Microsoft.Network/networkInterfaces/${param(ctx, 'nic')}' under resource group '${param(ctx, 'rg')}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
    }
    return { status: 200, body: render(ctx)(hit) };
  }),
];
